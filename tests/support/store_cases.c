/* store_cases.c - the backend-independent store tests (see store_cases.h). */
#include "store_cases.h"
#include "testutil.h"

#include "base/date.h"
#include "base/log.h"
#include "codec/barcsv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

void store_fixture_open(struct store_fixture *f, const char *location)
{
    struct diag d;
    diag_clear(&d);
    snprintf(f->location, sizeof f->location, "%s", location);
    if (objstore_open(location, &f->os, &d) != ERR_OK)
        fail_msg("cannot open the store at %s: %s", location, d.text);
    assert_int_equal(barstore_new(f->os, &f->bs, &d), ERR_OK);
}

void store_fixture_close(struct store_fixture *f)
{
    barstore_free(f->bs);
    objstore_free(f->os);
    f->bs = NULL;
    f->os = NULL;
}

/* What objstore_get_many_take handed on: each object kept, by taking the store's buffer when
 * it may be taken, by copying it when not. */
struct taken {
    struct buf kept[8];
    size_t calls, taken;
    int bad; /* own given, but not holding data */
};

static int take_cb(void *ctx, size_t i, char *data, size_t len, struct buf *own, struct diag *d)
{
    struct taken *t = ctx;
    (void)d;
    t->calls++;
    struct buf *k = &t->kept[i];
    if (own) {
        if (own->len != len || (len && own->data != data) || data[len] != '\0')
            t->bad = 1;
        struct buf mine = *k;
        /* Ours for the store's: the store goes on in the buffer it is given back. */
        k->data = own->data, k->len = own->len, k->cap = own->cap;
        own->data = mine.data, own->len = mine.len, own->cap = mine.cap;
        t->taken++;
    } else {
        buf_reset(k);
        buf_append(k, data, len);
    }
    return ERR_OK;
}

void store_put_numbered(struct objstore *os, const char *prefix, size_t n, size_t absent,
                        char (*keys)[32], const char **kp)
{
    struct diag d;
    for (size_t i = 0; i < n; i++) {
        snprintf(keys[i], 32, "%s/k%02zu", prefix, i);
        kp[i] = keys[i];
        char body[32];
        int len = snprintf(body, sizeof body, "object %zu", i);
        if (i != absent)
            assert_int_equal(objstore_put(os, keys[i], body, (size_t)len, OBJ_PUT_ALWAYS, NULL, &d),
                             ERR_OK);
    }
}

void store_case_big_object(void **state)
{
    struct store_fixture *f = *state;
    struct diag d;
    /* 40 MiB: more than bars-1y.csv of 1,000 symbols over a year and the screen's window
     * before it (some 26 MB), which S3 takes in one PUT (up to 5 GiB). */
    size_t n = (size_t)40 << 20;
    char *data = malloc(n);
    assert_non_null(data);
    for (size_t i = 0; i < n; i++)
        data[i] = (char)('a' + i % 26 + (i % 4093 == 0));
    assert_int_equal(objstore_put(f->os, "big/object.csv", data, n, OBJ_PUT_ALWAYS, NULL, &d),
                     ERR_OK);
    struct buf b = BUF_INIT((size_t)64 << 20);
    assert_int_equal(objstore_get(f->os, "big/object.csv", &b, NULL, &d), ERR_OK);
    assert_int_equal(b.len, n);
    assert_memory_equal(b.data, data, n);
    buf_release(&b);
    free(data);
}

void store_case_get_many_take(void **state)
{
    struct store_fixture *f = *state;
    struct diag d;
    char keys[8][32];
    const char *kp[8];
    for (size_t i = 0; i < 8; i++) {
        snprintf(keys[i], sizeof keys[i], "take/k%02zu", i);
        kp[i] = keys[i];
        char body[64];
        /* Bodies of different lengths (one empty), so that a buffer handed back to the store
         * and filled again must be refilled, not appended to. */
        int n = snprintf(body, sizeof body, "%.*s", (int)((7 - i) * 7),
                         "object object object "
                         "object object object "
                         "object object object");
        assert_int_equal(objstore_put(f->os, keys[i], body, (size_t)n, OBJ_PUT_ALWAYS, NULL, &d),
                         ERR_OK);
    }
    struct taken t = {0};
    for (size_t i = 0; i < 8; i++)
        buf_init(&t.kept[i], 64);
    /* Twice over the same buffers: the second time each callback gives back a used one. */
    for (int round = 0; round < 2; round++) {
        t.calls = t.taken = 0;
        assert_int_equal(objstore_get_many_take(f->os, kp, 8, 64, 3, take_cb, &t, &d), ERR_OK);
        assert_int_equal(t.calls, 8);
        assert_false(t.bad);
        for (size_t i = 0; i < 8; i++) {
            struct buf b = BUF_INIT(64);
            assert_int_equal(objstore_get(f->os, kp[i], &b, NULL, &d), ERR_OK);
            assert_int_equal(t.kept[i].len, b.len);
            assert_string_equal(buf_cstr(&t.kept[i]), buf_cstr(&b));
            buf_release(&b);
        }
    }
    /* An object over the cap is refused, not cut, whoever holds the buffer. */
    assert_int_equal(objstore_get_many_take(f->os, kp, 8, 8, 3, take_cb, &t, &d), ERR_TOOBIG);
    for (size_t i = 0; i < 8; i++)
        buf_release(&t.kept[i]);
}

void store_case_put_get_list(void **state)
{
    struct store_fixture *f = *state;
    struct diag d;
    assert_int_equal(objstore_put(f->os, "x/b.txt", "two", 3, OBJ_PUT_CREATE, NULL, &d), ERR_OK);
    assert_int_equal(objstore_put(f->os, "x/a.txt", "one", 3, OBJ_PUT_CREATE, NULL, &d), ERR_OK);
    assert_int_equal(objstore_put(f->os, "y/c.txt", "3", 1, OBJ_PUT_ALWAYS, NULL, &d), ERR_OK);
    /* create-if-absent refuses to overwrite */
    assert_int_equal(objstore_put(f->os, "x/a.txt", "new", 3, OBJ_PUT_CREATE, NULL, &d),
                     ERR_EXISTS);
    struct buf b = BUF_INIT(1024);
    char etag[OBJ_ETAG_MAX];
    assert_int_equal(objstore_get(f->os, "x/a.txt", &b, etag, &d), ERR_OK);
    assert_string_equal(buf_cstr(&b), "one");
    buf_reset(&b);
    assert_int_equal(objstore_get(f->os, "x/none", &b, NULL, &d), ERR_NOTFOUND);

    struct strvec keys = STRVEC_INIT;
    assert_int_equal(objstore_list(f->os, "x/", &keys, &d), ERR_OK);
    assert_int_equal(keys.n, 2);
    assert_string_equal(keys.v[0], "x/a.txt");
    assert_string_equal(keys.v[1], "x/b.txt");
    strvec_release(&keys);
    assert_int_equal(objstore_list(f->os, "", &keys, &d), ERR_OK);
    assert_int_equal(keys.n, 3);
    strvec_release(&keys);
    assert_int_equal(objstore_list(f->os, "x/a", &keys, &d), ERR_OK);
    assert_int_equal(keys.n, 1);
    strvec_release(&keys);
    assert_int_equal(objstore_list(f->os, "nothing/", &keys, &d), ERR_OK);
    assert_int_equal(keys.n, 0);
    strvec_release(&keys);

    /* Conditional replace: the right etag wins once; a stale one is refused. */
    assert_int_equal(objstore_put(f->os, "x/a.txt", "uno", 3, OBJ_PUT_IF_MATCH, etag, &d), ERR_OK);
    assert_int_equal(objstore_put(f->os, "x/a.txt", "eins", 4, OBJ_PUT_IF_MATCH, etag, &d),
                     ERR_PRECONDITION);
    assert_int_equal(objstore_get(f->os, "x/a.txt", &b, NULL, &d), ERR_OK);
    assert_string_equal(buf_cstr(&b), "uno");
    assert_int_equal(objstore_put(f->os, "x/zz", "1", 1, OBJ_PUT_IF_MATCH, etag, &d), ERR_NOTFOUND);
    assert_int_equal(objstore_del(f->os, "x/b.txt", &d), ERR_OK);
    assert_int_equal(objstore_del(f->os, "x/b.txt", &d), ERR_NOTFOUND);
    assert_int_equal(objstore_put(f->os, "../evil", "1", 1, OBJ_PUT_ALWAYS, NULL, &d), ERR_INVALID);
    /* The read cap is enforced. */
    struct buf tiny = BUF_INIT(2);
    assert_int_equal(objstore_get(f->os, "x/a.txt", &tiny, NULL, &d), ERR_TOOBIG);
    buf_release(&tiny);
    buf_release(&b);
}

static size_t count_parts(struct store_fixture *f, const char *day)
{
    char prefix[64];
    snprintf(prefix, sizeof prefix, "bars/%.4s/%s/", day, day);
    struct strvec keys = STRVEC_INIT;
    struct diag d;
    assert_int_equal(objstore_list(f->os, prefix, &keys, &d), ERR_OK);
    size_t n = keys.n;
    strvec_release(&keys);
    return n;
}

static int count_cb_(void *ctx, int32_t date, const struct bar *bars, size_t n)
{
    size_t *total = ctx;
    (void)date;
    (void)bars;
    *total += n;
    return 0;
}

static void read_day(struct store_fixture *f, const char *day, struct barvec *out, int want_err,
                     char *msg)
{
    int32_t date;
    assert_int_equal(date_parse(day, 10, &date), 0);
    struct bar_index idx;
    struct diag d;
    assert_int_equal(barstore_index(f->bs, date, date, &idx, &d), ERR_OK);
    assert_int_equal(idx.ndays, 1);
    int err = barstore_read_day(f->bs, &idx, 0, out, &d);
    if (msg)
        memcpy(msg, d.text, DIAG_MAX);
    assert_int_equal(err, want_err);
    bar_index_release(&idx);
}

void store_case_barstore_write_read(void **state)
{
    struct store_fixture *f = *state;
    struct bar bars[] = {
        tu_bar("MSFT", "2024-01-03", 10, 11, 9, 10.5, 100),
        tu_bar("AAPL", "2024-01-02", 20, 21, 19, 20.5, 200),
        tu_bar("MSFT", "2024-01-02", 30, 31, 29, 30.5, 300),
        tu_bar("AAPL", "2024-01-03", 40, 41, 39, 40.5, 400),
    };
    struct barstore_write_stats st;
    struct diag d;
    assert_int_equal(barstore_write(f->bs, bars, 4, NULL, &st, &d), ERR_OK);
    assert_int_equal(st.rows_new, 4);
    assert_int_equal(st.parts_written, 2);
    assert_int_equal(st.days_touched, 2);

    struct barvec v;
    barvec_init(&v);
    read_day(f, "2024-01-02", &v, ERR_OK, NULL);
    assert_int_equal(v.n, 2);
    assert_true(bar_equal(&v.v[0], &bars[1]));
    assert_true(bar_equal(&v.v[1], &bars[2]));

    /* The part on disk is canonical CSV sorted by symbol. */
    struct strvec keys = STRVEC_INIT;
    assert_int_equal(objstore_list(f->os, "bars/2024/2024-01-02/", &keys, &d), ERR_OK);
    assert_int_equal(keys.n, 1);
    struct buf b = BUF_INIT(1 << 16);
    assert_int_equal(objstore_get(f->os, keys.v[0], &b, NULL, &d), ERR_OK);
    assert_string_equal(buf_cstr(&b), BARCSV_HEADER "AAPL,2024-01-02,20,21,19,20.5,200,,\n"
                                                    "MSFT,2024-01-02,30,31,29,30.5,300,,\n");
    strvec_release(&keys);
    buf_release(&b);

    /* Writing the same bars again changes nothing. */
    assert_int_equal(barstore_write(f->bs, bars, 4, NULL, &st, &d), ERR_OK);
    assert_int_equal(st.rows_new, 0);
    assert_int_equal(st.rows_same, 4);
    assert_int_equal(st.parts_written, 0);
    assert_int_equal(count_parts(f, "2024-01-02"), 1);

    /* A late bar for a stored day adds a part; readers merge. */
    struct bar late = tu_bar("GOOG", "2024-01-02", 5, 6, 4, 5.5, 50);
    assert_int_equal(barstore_write(f->bs, &late, 1, NULL, &st, &d), ERR_OK);
    assert_int_equal(st.rows_new, 1);
    assert_int_equal(count_parts(f, "2024-01-02"), 2);
    read_day(f, "2024-01-02", &v, ERR_OK, NULL);
    assert_int_equal(v.n, 3);
    assert_string_equal(v.v[0].symbol, "AAPL");
    assert_string_equal(v.v[1].symbol, "GOOG");
    assert_string_equal(v.v[2].symbol, "MSFT");

    int32_t first, last;
    size_t ndays;
    assert_int_equal(barstore_date_range(f->bs, &first, &last, &ndays, &d), ERR_OK);
    assert_int_equal(last - first, 1);
    assert_int_equal(ndays, 2);
    barvec_release(&v);
}

struct conflicts {
    size_t n;
    size_t index[8];
    char field[8][16];
};

static void on_conflict(void *ctx, size_t index, const struct bar *other, const char *field)
{
    struct conflicts *c = ctx;
    (void)other;
    c->index[c->n] = index;
    snprintf(c->field[c->n], sizeof c->field[0], "%s", field);
    c->n++;
}

void store_case_barstore_conflicts(void **state)
{
    struct store_fixture *f = *state;
    struct bar stored = tu_bar("AAPL", "2024-01-02", 20, 21, 19, 20.5, 200);
    struct barstore_write_stats st;
    struct diag d;
    assert_int_equal(barstore_write(f->bs, &stored, 1, NULL, &st, &d), ERR_OK);

    struct bar batch[] = {
        tu_bar("AAPL", "2024-01-02", 20, 21, 19, 20.75, 200), /* differs: close */
        tu_bar("MSFT", "2024-01-02", 30, 31, 29, 30.5, 300),  /* new */
    };
    /* Refuse mode: nothing at all is written. */
    assert_int_equal(barstore_write(f->bs, batch, 2, NULL, &st, &d), ERR_CONFLICT);
    assert_string_equal(d.text, "AAPL 2024-01-02 is already stored with a different 'close' "
                                "(1 conflicting bars; nothing written)");
    assert_int_equal(count_parts(f, "2024-01-02"), 1);

    /* Skip mode: the rest is written and the conflict is reported with its index. */
    struct conflicts c = {0};
    struct barstore_write_opts o = {.skip_conflicts = 1, .on_conflict = on_conflict, .ctx = &c};
    assert_int_equal(barstore_write(f->bs, batch, 2, &o, &st, &d), ERR_CONFLICT);
    assert_int_equal(st.rows_new, 1);
    assert_int_equal(st.rows_conflict, 1);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.index[0], 0);
    assert_string_equal(c.field[0], "close");

    struct barvec v;
    barvec_init(&v);
    read_day(f, "2024-01-02", &v, ERR_OK, NULL);
    assert_int_equal(v.n, 2);
    assert_int_equal(v.v[0].close, 20500000); /* the stored fact stands */

    /* Two different values for one symbol-day inside one batch conflict too. */
    struct bar twice[] = {
        tu_bar("NVDA", "2024-01-05", 1, 2, 1, 1.5, 10),
        tu_bar("NVDA", "2024-01-05", 1, 2, 1, 1.5, 11),
    };
    assert_int_equal(barstore_write(f->bs, twice, 2, NULL, &st, &d), ERR_CONFLICT);
    /* ... but the same bar twice is just one bar. */
    twice[1].volume = 10;
    assert_int_equal(barstore_write(f->bs, twice, 2, NULL, &st, &d), ERR_OK);
    assert_int_equal(st.rows_new, 1);
    assert_int_equal(st.rows_same, 1);
    barvec_release(&v);
}

/* Store content as a part of day under its content-hash name; key gets the key. */
static void put_part(struct store_fixture *f, const char *day, const char *content,
                     char key[OBJ_KEY_MAX])
{
    char name[32];
    barstore_part_name(content, strlen(content), name);
    snprintf(key, OBJ_KEY_MAX, "bars/%.4s/%s/%s", day, day, name);
    struct diag d;
    assert_int_equal(objstore_put(f->os, key, content, strlen(content), OBJ_PUT_CREATE, NULL, &d),
                     ERR_OK);
}

void store_case_barstore_reader_validates(void **state)
{
    struct store_fixture *f = *state;
    char key[OBJ_KEY_MAX], want[DIAG_MAX + OBJ_KEY_MAX];
    const char bad[] = BARCSV_HEADER "AAPL,2024-01-02,20,21,19,20.5,200,,\n"
                                     "MSFT,2024-01-02,30,31,29,-1,300,,\n";
    put_part(f, "2024-01-02", bad, key);
    struct barvec v;
    barvec_init(&v);
    char msg[DIAG_MAX];
    read_day(f, "2024-01-02", &v, ERR_INVALID, msg);
    snprintf(want, sizeof want, "%s:3: MSFT: field 'close': price must be positive, got -1", key);
    assert_string_equal(msg, want);

    const char wrong_day[] = BARCSV_HEADER "AAPL,2024-01-04,20,21,19,20.5,200,,\n";
    put_part(f, "2024-01-03", wrong_day, key);
    read_day(f, "2024-01-03", &v, ERR_INVALID, msg);
    snprintf(want, sizeof want, "%s:2: field 'date': 2024-01-04 in the partition of 2024-01-03",
             key);
    assert_string_equal(msg, want);

    const char unsorted[] = BARCSV_HEADER "MSFT,2024-01-05,20,21,19,20.5,200,,\n"
                                          "AAPL,2024-01-05,20,21,19,20.5,200,,\n";
    put_part(f, "2024-01-05", unsorted, key);
    read_day(f, "2024-01-05", &v, ERR_INVALID, msg);
    assert_non_null(strstr(msg, ":3: field 'symbol': AAPL is out of order"));
    barvec_release(&v);
}

/* The parts of 2024-01-08 that disagree on AAPL's close: the winner is the part whose name
 * sorts first, whatever the order in which they were written, and every read says so. */
static void put_disagreeing_parts(struct store_fixture *f, int first_wins_order, char first[],
                                  char second[])
{
    const char p1[] = BARCSV_HEADER "AAPL,2024-01-08,20,21,19,20.5,200,,\n";
    const char p2[] = BARCSV_HEADER "AAPL,2024-01-08,20,21,19,20.6,200,,\n";
    if (first_wins_order) {
        put_part(f, "2024-01-08", p1, first);
        put_part(f, "2024-01-08", p2, second);
    } else {
        put_part(f, "2024-01-08", p2, second);
        put_part(f, "2024-01-08", p1, first);
    }
}

struct disagree_log {
    size_t n;
    char winner[OBJ_KEY_MAX], loser[OBJ_KEY_MAX], field[16];
};

static void on_disagree(void *ctx, const struct barstore_disagreement *x)
{
    struct disagree_log *l = ctx;
    l->n++;
    snprintf(l->winner, sizeof l->winner, "%s", x->winner_key);
    snprintf(l->loser, sizeof l->loser, "%s", x->loser_key);
    snprintf(l->field, sizeof l->field, "%s", x->field);
}

void store_case_barstore_disagreeing_parts(void **state)
{
    struct store_fixture *f = *state;
    char k1[OBJ_KEY_MAX], k2[OBJ_KEY_MAX];
    put_disagreeing_parts(f, 0, k1, k2);
    const char *winner = strcmp(k1, k2) < 0 ? k1 : k2;
    const char *loser = winner == k1 ? k2 : k1;
    int64_t want_close = winner == k1 ? 20500000 : 20600000;
    struct disagree_log log = {0};
    barstore_on_disagree(f->bs, on_disagree, &log);
    struct barvec v;
    barvec_init(&v);
    read_day(f, "2024-01-08", &v, ERR_OK, NULL);
    assert_int_equal(v.n, 1);
    assert_int_equal(v.v[0].close, want_close);
    assert_int_equal(log.n, 1);
    assert_int_equal(barstore_disagreements(f->bs), 1);
    assert_string_equal(log.winner, winner);
    assert_string_equal(log.loser, loser);
    assert_string_equal(log.field, "close");
    /* The scan and the writer agree with the reader: the winning value is the stored one. */
    struct bar same = v.v[0], other = v.v[0];
    other.close = want_close == 20500000 ? 20600000 : 20500000;
    struct barstore_write_stats st;
    struct diag d;
    assert_int_equal(barstore_write(f->bs, &same, 1, NULL, &st, &d), ERR_OK);
    assert_int_equal(st.rows_same, 1);
    assert_int_equal(barstore_write(f->bs, &other, 1, NULL, &st, &d), ERR_CONFLICT);
    /* verify reports it and nothing damaged. */
    struct barstore_verify_stats vs;
    struct barstore_verify_opts vo = {0};
    assert_int_equal(barstore_verify(f->bs, &vo, &vs, &d), ERR_OK);
    assert_int_equal(vs.disagreements, 1);
    assert_int_equal(vs.damaged, 0);
    assert_int_equal(vs.parts, 2);
    barstore_on_disagree(f->bs, NULL, NULL);
    barvec_release(&v);
}

struct damaged_log {
    size_t n;
    char key[OBJ_KEY_MAX];
};

static void on_damaged(void *ctx, const char *key, const char *why)
{
    struct damaged_log *l = ctx;
    (void)why;
    l->n++;
    snprintf(l->key, sizeof l->key, "%s", key);
}

static void replace_object(struct store_fixture *f, const char *key, const char *data, size_t len)
{
    struct diag d;
    assert_int_equal(objstore_put(f->os, key, data, len, OBJ_PUT_ALWAYS, NULL, &d), ERR_OK);
}

static size_t scan_count(struct store_fixture *f, int want_err, char *msg)
{
    size_t total = 0;
    struct diag d;
    diag_clear(&d);
    int err = barstore_scan(f->bs, INT32_MIN, INT32_MAX, count_cb_, &total, &d);
    if (msg)
        memcpy(msg, d.text, DIAG_MAX);
    assert_int_equal(err, want_err);
    return total;
}

void store_case_barstore_damaged_parts(void **state)
{
    struct store_fixture *f = *state;
    /* 60 bars on one day and 2 on the next. */
    struct bar bars[62];
    for (int i = 0; i < 60; i++) {
        char sym[16];
        snprintf(sym, sizeof sym, "S%02d", i);
        bars[i] = tu_bar(sym, "2024-02-01", 10, 12 + i, 9, 10, 100 + i);
    }
    bars[60] = tu_bar("AAA", "2024-02-02", 10, 11, 9, 10, 100);
    bars[61] = tu_bar("BBB", "2024-02-02", 10, 11, 9, 10, 100);
    struct barstore_write_stats st;
    struct diag d;
    assert_int_equal(barstore_write(f->bs, bars, 62, NULL, &st, &d), ERR_OK);
    struct strvec keys = STRVEC_INIT;
    assert_int_equal(objstore_list(f->os, "bars/2024/2024-02-01/", &keys, &d), ERR_OK);
    assert_int_equal(keys.n, 1);
    char key[OBJ_KEY_MAX];
    snprintf(key, sizeof key, "%s", keys.v[0]);
    strvec_release(&keys);
    struct buf whole = BUF_INIT((size_t)1 << 20);
    assert_int_equal(objstore_get(f->os, key, &whole, NULL, &d), ERR_OK);
    assert_int_equal(scan_count(f, ERR_OK, NULL), 62);

    /* Truncated at a row boundary: it still parses (23 rows), but it is not what was written. */
    const char *cut = whole.data;
    for (int rows = 0; rows < 24; rows++)
        cut = strchr(cut, '\n') + 1;
    replace_object(f, key, whole.data, (size_t)(cut - whole.data));
    char msg[DIAG_MAX];
    scan_count(f, ERR_DAMAGED, msg);
    assert_non_null(strstr(msg, key));
    assert_non_null(strstr(msg, "damaged"));
    assert_non_null(strstr(msg, "does not match its name"));
    /* Skipping: the day's bars are left out (not 23 of them used), the part is named. */
    barstore_set_skip_damaged(f->bs, 1);
    assert_int_equal(scan_count(f, ERR_OK, NULL), 2);
    assert_int_equal(barstore_damaged(f->bs)->n, 1);
    assert_string_equal(barstore_damaged(f->bs)->v[0], key);
    barstore_set_skip_damaged(f->bs, 0);

    /* Edited in place, same length: one digit of a high. */
    char *edited = malloc(whole.len + 1);
    memcpy(edited, whole.data, whole.len + 1);
    char *hit = strstr(edited, "S05,2024-02-01,10,17,");
    assert_non_null(hit);
    hit[18] = '9';
    replace_object(f, key, edited, whole.len);
    scan_count(f, ERR_DAMAGED, msg);
    assert_non_null(strstr(msg, key));

    /* verify names it, and only it. */
    struct damaged_log dl = {0};
    struct barstore_verify_opts vo = {.on_damaged = on_damaged, .ctx = &dl};
    struct barstore_verify_stats vs;
    assert_int_equal(barstore_verify(f->bs, &vo, &vs, &d), ERR_OK);
    assert_int_equal(vs.damaged, 1);
    assert_int_equal(dl.n, 1);
    assert_string_equal(dl.key, key);
    assert_int_equal(vs.parts, 2);
    assert_int_equal(vs.bars, 2);

    /* A part whose name is not a content hash is damaged too. */
    replace_object(f, key, whole.data, whole.len);
    assert_int_equal(scan_count(f, ERR_OK, NULL), 62);
    const char extra[] = BARCSV_HEADER "CCC,2024-02-02,10,11,9,10,100,,\n";
    replace_object(f, "bars/2024/2024-02-02/part-handmade.csv", extra, sizeof extra - 1);
    scan_count(f, ERR_DAMAGED, msg);
    assert_non_null(strstr(msg, "part-handmade.csv"));
    assert_non_null(strstr(msg, "not part-<16 hex digits>.csv"));
    /* A writer refuses to work on a day with a damaged part. */
    struct bar more = tu_bar("DDD", "2024-02-02", 10, 11, 9, 10, 100);
    assert_int_equal(barstore_write(f->bs, &more, 1, NULL, &st, &d), ERR_DAMAGED);
    assert_int_equal(objstore_del(f->os, "bars/2024/2024-02-02/part-handmade.csv", &d), ERR_OK);

    /* A damaged split part. */
    struct split sp = {"AAA", 0, 2000000, 1000000};
    date_parse("2024-02-02", 10, &sp.ex_date);
    size_t added;
    assert_int_equal(barstore_write_splits(f->bs, &sp, 1, &added, &d), ERR_OK);
    assert_int_equal(objstore_list(f->os, "splits/", &keys, &d), ERR_OK);
    assert_int_equal(keys.n, 1);
    replace_object(f, keys.v[0], SPLITCSV_HEADER "AAA,2024-02-02,20,1\n",
                   strlen(SPLITCSV_HEADER "AAA,2024-02-02,20,1\n"));
    struct splitvec sv;
    splitvec_init(&sv);
    assert_int_equal(barstore_read_splits(f->bs, &sv, &d), ERR_DAMAGED);
    assert_non_null(strstr(d.text, keys.v[0]));
    strvec_release(&keys);
    splitvec_release(&sv);
    free(edited);
    buf_release(&whole);
}

static int count_cb(void *ctx, int32_t date, const struct bar *bars, size_t n)
{
    size_t *total = ctx;
    (void)date;
    (void)bars;
    *total += n;
    return 0;
}

void store_case_barstore_scan_many_days(void **state)
{
    struct store_fixture *f = *state;
    /* More days than the per-day listing handles, across years. */
    struct barvec in;
    barvec_init(&in);
    int32_t start;
    date_parse("2023-12-01", 10, &start);
    for (int32_t day = start; day < start + 60; day++) {
        char s[11];
        date_format(day, s);
        struct bar a = tu_bar("AAA", s, 10, 11, 9, 10, 1);
        struct bar b = tu_bar("BBB", s, 10, 11, 9, 10, 1);
        barvec_push(&in, &a);
        barvec_push(&in, &b);
    }
    struct barstore_write_stats st;
    struct diag d;
    assert_int_equal(barstore_write(f->bs, in.v, in.n, NULL, &st, &d), ERR_OK);
    assert_int_equal(st.parts_written, 60);
    size_t total = 0;
    assert_int_equal(barstore_scan(f->bs, INT32_MIN, INT32_MAX, count_cb, &total, &d), ERR_OK);
    assert_int_equal(total, 120);
    total = 0;
    assert_int_equal(barstore_scan(f->bs, start + 30, start + 39, count_cb, &total, &d), ERR_OK);
    assert_int_equal(total, 20);
    /* Again: a no-op. */
    assert_int_equal(barstore_write(f->bs, in.v, in.n, NULL, &st, &d), ERR_OK);
    assert_int_equal(st.rows_same, 120);
    assert_int_equal(st.parts_written, 0);
    barvec_release(&in);
}

/* Every day handed on, as text; stops with ERR_CONFLICT on the day `stop_at` when set. */
struct days_text {
    struct buf text;
    int32_t stop_at;
};

static int text_cb(void *ctx, int32_t date, const struct bar *bars, size_t n)
{
    struct days_text *t = ctx;
    for (size_t i = 0; i < n; i++)
        buf_printf(&t->text, "%d %s %lld %lld %lld\n", (int)date, bars[i].symbol,
                   (long long)bars[i].open, (long long)bars[i].close, (long long)bars[i].volume);
    if (date == t->stop_at)
        return ERR_CONFLICT;
    return ERR_OK;
}

/* Scan both ways; the two must agree on the days handed on, the result and the message,
 * whichever thread parses a day's only part reading ahead. */
static void scan_both(struct store_fixture *f, int32_t stop_at, int want)
{
    static const int splits[] = {BARSTORE_SPLIT_BALANCE, BARSTORE_SPLIT_CALLER,
                                 BARSTORE_SPLIT_READER};
    struct days_text one = {BUF_INIT(4 << 20), stop_at};
    struct diag d1 = {{0}};
    assert_int_equal(barstore_scan(f->bs, INT32_MIN, INT32_MAX, text_cb, &one, &d1), want);
    assert_true(one.text.len > 0);
    for (size_t s = 0; s < sizeof splits / sizeof splits[0]; s++) {
        struct days_text two = {BUF_INIT(4 << 20), stop_at};
        struct diag d2 = {{0}};
        barstore_set_ahead_split(f->bs, splits[s]);
        assert_int_equal(barstore_scan_ahead(f->bs, INT32_MIN, INT32_MAX, text_cb, &two, &d2),
                         want);
        assert_int_equal(one.text.len, two.text.len);
        assert_memory_equal(one.text.data, two.text.data, one.text.len);
        assert_string_equal(d1.text, d2.text);
        buf_release(&two.text);
    }
    barstore_set_ahead_split(f->bs, BARSTORE_SPLIT_BALANCE);
    buf_release(&one.text);
}

void store_case_barstore_scan_ahead(void **state)
{
    struct store_fixture *f = *state;
    /* 100 days, two parts a day (one of them a day's only part now and then), a symbol that
     * appears late: the same days, bars and order as a scan on one thread. */
    struct barvec in;
    barvec_init(&in);
    int32_t start;
    date_parse("2023-12-01", 10, &start);
    static const char *const syms[] = {"AAA", "BBB", "CCC", "DDD", "EEE"};
    struct barstore_write_stats st;
    struct diag d;
    for (int round = 0; round < 2; round++) {
        in.n = 0;
        for (int32_t day = start; day < start + 100; day++) {
            char s[11];
            date_format(day, s);
            for (int k = round; k < 5; k += 2) {
                if ((k == 4 && day < start + 50) || (round == 1 && day % 7 == 0))
                    continue;
                struct bar b = tu_bar(syms[k], s, 10 + k, 12 + k, 9, 11 + k, 1000 + day - start);
                barvec_push(&in, &b);
            }
        }
        assert_int_equal(barstore_write(f->bs, in.v, in.n, NULL, &st, &d), ERR_OK);
    }
    barvec_release(&in);
    scan_both(f, INT32_MIN, ERR_OK);
    /* The caller stops: its error, after the same days. */
    scan_both(f, start + 60, ERR_CONFLICT);
    /* A damaged part in the middle: the days before it, then the same error. */
    char prefix[32], day_s[11];
    date_format(start + 70, day_s);
    snprintf(prefix, sizeof prefix, "bars/%.4s/%s/", day_s, day_s);
    struct strvec keys = STRVEC_INIT;
    assert_int_equal(objstore_list(f->os, prefix, &keys, &d), ERR_OK);
    assert_true(keys.n >= 1);
    const char bad[] = "symbol,date,open,high,low,close,volume\nAAA,2024-01-01,x,1,1,1,1\n";
    assert_int_equal(objstore_put(f->os, keys.v[0], bad, sizeof bad - 1, OBJ_PUT_ALWAYS, NULL, &d),
                     ERR_OK);
    scan_both(f, INT32_MIN, ERR_DAMAGED);
    /* Skipped when asked: both leave it out and go on. */
    barstore_set_skip_damaged(f->bs, 1);
    scan_both(f, INT32_MIN, ERR_OK);
    barstore_set_skip_damaged(f->bs, 0);
    /* A day's only part whose rows are valid but whose content is not what its name says (the
     * reader ahead leaves that check to the caller's thread): the days before it, then the same
     * error; skipped when asked. */
    assert_int_equal(objstore_del(f->os, keys.v[0], &d), ERR_OK);
    strvec_release(&keys);
    int32_t only = start + 80;
    while (only % 7 != 0)
        only++;
    date_format(only, day_s);
    snprintf(prefix, sizeof prefix, "bars/%.4s/%s/", day_s, day_s);
    assert_int_equal(objstore_list(f->os, prefix, &keys, &d), ERR_OK);
    assert_int_equal(keys.n, 1);
    char edited[128];
    int len = snprintf(edited, sizeof edited,
                       "symbol,date,open,high,low,close,volume\nAAA,%s,10,12,9,11,5\n", day_s);
    assert_int_equal(objstore_put(f->os, keys.v[0], edited, (size_t)len, OBJ_PUT_ALWAYS, NULL, &d),
                     ERR_OK);
    scan_both(f, INT32_MIN, ERR_DAMAGED);
    scan_both(f, start + 60, ERR_CONFLICT);
    struct days_text two = {BUF_INIT(4 << 20), INT32_MIN};
    assert_int_equal(barstore_scan_ahead(f->bs, INT32_MIN, INT32_MAX, text_cb, &two, &d),
                     ERR_DAMAGED);
    assert_non_null(strstr(d.text, keys.v[0]));
    assert_non_null(strstr(d.text, "does not match its name"));
    char needle[16]; /* its rows never reach the caller, those of the day before do */
    snprintf(needle, sizeof needle, "\n%d ", (int)only);
    assert_null(strstr(two.text.data, needle));
    snprintf(needle, sizeof needle, "\n%d ", (int)only - 1);
    assert_non_null(strstr(two.text.data, needle));
    buf_reset(&two.text);
    barstore_set_skip_damaged(f->bs, 1);
    scan_both(f, INT32_MIN, ERR_OK);
    barstore_set_skip_damaged(f->bs, 0);
    /* A day's only part named for its content whose second row is bad (which thread parses it
     * depends on how far ahead the reader is): the same days and error either way. */
    assert_int_equal(objstore_del(f->os, keys.v[0], &d), ERR_OK);
    char rows[256], key[OBJ_KEY_MAX];
    snprintf(rows, sizeof rows, BARCSV_HEADER "AAA,%s,10,12,9,11,5,,\nBBB,%s,10,12,9,-1,5,,\n",
             day_s, day_s);
    put_part(f, day_s, rows, key);
    scan_both(f, INT32_MIN, ERR_INVALID);
    barstore_set_ahead_split(f->bs, BARSTORE_SPLIT_CALLER);
    assert_int_equal(barstore_scan_ahead(f->bs, INT32_MIN, INT32_MAX, text_cb, &two, &d),
                     ERR_INVALID);
    barstore_set_ahead_split(f->bs, BARSTORE_SPLIT_BALANCE);
    buf_release(&two.text);
    assert_non_null(strstr(d.text, key));
    assert_null(strstr(d.text, "does not match its name"));
    barstore_set_skip_damaged(f->bs, 1);
    scan_both(f, INT32_MIN, ERR_OK);
    barstore_set_skip_damaged(f->bs, 0);
    strvec_release(&keys);
}

void store_case_splits(void **state)
{
    struct store_fixture *f = *state;
    struct split s[2] = {{"NVDA", 0, 10000000, 1000000}, {"AAPL", 0, 4000000, 1000000}};
    date_parse("2024-06-10", 10, &s[0].ex_date);
    date_parse("2020-08-31", 10, &s[1].ex_date);
    size_t added;
    struct diag d;
    assert_int_equal(barstore_write_splits(f->bs, s, 2, &added, &d), ERR_OK);
    assert_int_equal(added, 2);
    assert_int_equal(barstore_write_splits(f->bs, s, 2, &added, &d), ERR_OK);
    assert_int_equal(added, 0);
    struct split other = s[0];
    other.new_rate = 2000000;
    assert_int_equal(barstore_write_splits(f->bs, &other, 1, &added, &d), ERR_CONFLICT);
    struct splitvec sv;
    splitvec_init(&sv);
    assert_int_equal(barstore_read_splits(f->bs, &sv, &d), ERR_OK);
    assert_int_equal(sv.n, 2);
    assert_string_equal(sv.v[0].symbol, "AAPL");
    splitvec_release(&sv);
}

/* 25 chained extreme splits: refused when written, and refused with a clear message when a
 * store holds them anyway; a split part that loses a race resolves like bars. */
void store_case_split_bounds(void **state)
{
    struct store_fixture *f = *state;
    struct split chain[25];
    for (int i = 0; i < 25; i++)
        chain[i] = (struct split){"NANA", date_from_ymd(2024, 1, 2) + i, 1000000000, 1000000};
    size_t added;
    struct diag d;
    assert_int_equal(barstore_write_splits(f->bs, chain, 25, &added, &d), ERR_INVALID);
    assert_non_null(strstr(d.text, "NANA"));
    assert_non_null(strstr(d.text, "outside the sane range"));
    assert_int_equal(barstore_write_splits(f->bs, chain, 3, &added, &d), ERR_OK);
    assert_int_equal(barstore_write_splits(f->bs, chain + 3, 1, &added, &d), ERR_INVALID);
    struct split huge = {"HUGE", date_from_ymd(2024, 1, 2), 2000000000, 1000000};
    assert_int_equal(barstore_write_splits(f->bs, &huge, 1, &added, &d), ERR_INVALID);
    /* A store holding them anyway (hand-made, or an older writer) does not read them. */
    struct buf csv = BUF_INIT(1 << 16);
    assert_int_equal(splitcsv_write(&csv, chain + 3, 22), ERR_OK);
    char name[32], key[OBJ_KEY_MAX];
    barstore_part_name(csv.data, csv.len, name);
    snprintf(key, sizeof key, "splits/%s", name);
    assert_int_equal(objstore_put(f->os, key, csv.data, csv.len, OBJ_PUT_CREATE, NULL, &d), ERR_OK);
    struct splitvec sv;
    splitvec_init(&sv);
    assert_int_equal(barstore_read_splits(f->bs, &sv, &d), ERR_INVALID);
    assert_non_null(strstr(d.text, "split NANA 2024-01-05: factor 1000-for-1 makes the symbol's "
                                   "splits multiply to 1e+12"));
    assert_int_equal(objstore_del(f->os, key, &d), ERR_OK);
    /* Two split parts with different ratios for one fact (two writers at once). */
    struct split a = {"RACE", date_from_ymd(2024, 5, 1), 2000000, 1000000}, b = a;
    b.new_rate = 3000000;
    char ka[OBJ_KEY_MAX], kb[OBJ_KEY_MAX];
    buf_reset(&csv);
    splitcsv_write(&csv, &a, 1);
    barstore_part_name(csv.data, csv.len, name);
    snprintf(ka, sizeof ka, "splits/%s", name);
    objstore_put(f->os, ka, csv.data, csv.len, OBJ_PUT_CREATE, NULL, &d);
    buf_reset(&csv);
    splitcsv_write(&csv, &b, 1);
    barstore_part_name(csv.data, csv.len, name);
    snprintf(kb, sizeof kb, "splits/%s", name);
    objstore_put(f->os, kb, csv.data, csv.len, OBJ_PUT_CREATE, NULL, &d);
    splitvec_release(&sv);
    splitvec_init(&sv);
    size_t before = barstore_disagreements(f->bs);
    assert_int_equal(barstore_read_splits(f->bs, &sv, &d), ERR_OK);
    assert_int_equal(barstore_disagreements(f->bs), before + 1);
    const struct split *got = NULL;
    for (size_t i = 0; i < sv.n; i++)
        if (strcmp(sv.v[i].symbol, "RACE") == 0)
            got = &sv.v[i];
    assert_non_null(got);
    assert_int_equal(got->new_rate, strcmp(ka, kb) < 0 ? 2000000 : 3000000);
    splitvec_release(&sv);
    buf_release(&csv);
}

/* ---- two writers at once ----
 *
 * Each writer is a child process with its own store opened at the same location, as two
 * collector runs would be.  The children wait on a pipe so that they start together, and
 * report through their exit status (cmocka's assertions belong to the parent). */

#define WRITERS    2
#define CHILD_FAIL 200

typedef int (*writer_fn)(struct objstore *os, struct barstore *bs, int id);

static int child_fail(int id, const char *what, const struct diag *d)
{
    fprintf(stderr, "writer %d: %s: %s\n", id, what, d ? d->text : "");
    return CHILD_FAIL;
}

static void run_writers(const char *location, writer_fn fn, int status[WRITERS])
{
    int go[2];
    assert_int_equal(pipe(go), 0);
    fflush(NULL);
    pid_t pids[WRITERS];
    for (int i = 0; i < WRITERS; i++) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0) {
            close(go[1]);
            char c;
            if (read(go[0], &c, 1) != 0)
                _exit(CHILD_FAIL);
            struct objstore *os = NULL;
            struct barstore *bs = NULL;
            struct diag d;
            int rc;
            if (objstore_open(location, &os, &d) != ERR_OK)
                rc = child_fail(i, "open", &d);
            else if (barstore_new(os, &bs, &d) != ERR_OK)
                rc = child_fail(i, "barstore", &d);
            else
                rc = fn(os, bs, i);
            barstore_free(bs);
            objstore_free(os);
            fflush(NULL);
            _exit(rc);
        }
    }
    close(go[0]);
    close(go[1]); /* both start now */
    for (int i = 0; i < WRITERS; i++) {
        int ws;
        assert_int_equal(waitpid(pids[i], &ws, 0), pids[i]);
        assert_true(WIFEXITED(ws));
        status[i] = WEXITSTATUS(ws);
        assert_true(status[i] < CHILD_FAIL);
    }
}

#define RACE_KEYS 20

/* Exit status: how many keys this writer created. */
static int create_keys(struct objstore *os, struct barstore *bs, int id)
{
    (void)bs;
    int won = 0;
    for (int k = 0; k < RACE_KEYS; k++) {
        char key[32], value[32];
        snprintf(key, sizeof key, "race/k%02d", k);
        snprintf(value, sizeof value, "writer-%d", id);
        struct diag d;
        int err = objstore_put(os, key, value, strlen(value), OBJ_PUT_CREATE, NULL, &d);
        if (err == ERR_OK)
            won++;
        else if (err != ERR_EXISTS)
            return child_fail(id, "create", &d);
    }
    return won;
}

void store_case_concurrent_create(void **state)
{
    struct store_fixture *f = *state;
    int wins[WRITERS];
    run_writers(f->location, create_keys, wins);
    assert_int_equal(wins[0] + wins[1], RACE_KEYS);
    /* What stands is what each winner wrote. */
    int stored[WRITERS] = {0, 0};
    for (int k = 0; k < RACE_KEYS; k++) {
        char key[32];
        snprintf(key, sizeof key, "race/k%02d", k);
        struct buf b = BUF_INIT(64);
        struct diag d;
        assert_int_equal(objstore_get(f->os, key, &b, NULL, &d), ERR_OK);
        if (strcmp(buf_cstr(&b), "writer-0") == 0)
            stored[0]++;
        else if (strcmp(buf_cstr(&b), "writer-1") == 0)
            stored[1]++;
        else
            fail_msg("%s holds '%s'", key, buf_cstr(&b));
        buf_release(&b);
    }
    assert_int_equal(stored[0], wins[0]);
    assert_int_equal(stored[1], wins[1]);
}

#define INCREMENTS 20

/* Read, add one, replace if unchanged; again when another writer got there first.  Exit
 * status: how many times it had to start over (capped). */
static int increment(struct objstore *os, struct barstore *bs, int id)
{
    (void)bs;
    int retries = 0;
    for (int i = 0; i < INCREMENTS;) {
        struct buf b = BUF_INIT(64);
        char etag[OBJ_ETAG_MAX];
        struct diag d;
        if (objstore_get(os, "counter", &b, etag, &d) != ERR_OK)
            return child_fail(id, "get", &d);
        char next[32];
        snprintf(next, sizeof next, "%ld", strtol(buf_cstr(&b), NULL, 10) + 1);
        buf_release(&b);
        int err = objstore_put(os, "counter", next, strlen(next), OBJ_PUT_IF_MATCH, etag, &d);
        if (err == ERR_OK)
            i++;
        else if (err == ERR_PRECONDITION)
            retries++;
        else
            return child_fail(id, "conditional put", &d);
        if (retries > 10000)
            return child_fail(id, "too many retries", NULL);
    }
    return retries > 100 ? 100 : retries;
}

void store_case_concurrent_if_match(void **state)
{
    struct store_fixture *f = *state;
    struct diag d;
    assert_int_equal(objstore_put(f->os, "counter", "0", 1, OBJ_PUT_CREATE, NULL, &d), ERR_OK);
    int retries[WRITERS];
    run_writers(f->location, increment, retries);
    struct buf b = BUF_INIT(64);
    assert_int_equal(objstore_get(f->os, "counter", &b, NULL, &d), ERR_OK);
    assert_int_equal(strtol(buf_cstr(&b), NULL, 10), WRITERS * INCREMENTS);
    buf_release(&b);
}

#define RACE_DAYS 10

static int write_bars(struct objstore *os, struct barstore *bs, int id)
{
    (void)os;
    /* Writer 0 has AAA and BBB, writer 1 BBB and CCC: BBB is the same fact in both. */
    const char *syms[2] = {id == 0 ? "AAA" : "BBB", id == 0 ? "BBB" : "CCC"};
    struct bar bars[2 * RACE_DAYS];
    int32_t start = date_from_ymd(2024, 3, 1);
    for (int day = 0; day < RACE_DAYS; day++) {
        char date[DATE_STRLEN + 1];
        date_format(start + day, date);
        for (int s = 0; s < 2; s++)
            bars[2 * day + s] =
                tu_bar(syms[s], date, 20, 21, 9, 10 + (syms[s][0] - 'A'), 100 + day);
    }
    struct barstore_write_stats st;
    struct diag d;
    if (barstore_write(bs, bars, 2 * RACE_DAYS, NULL, &st, &d) != ERR_OK)
        return child_fail(id, "barstore_write", &d);
    return 0;
}

void store_case_concurrent_barstore(void **state)
{
    struct store_fixture *f = *state;
    int status[WRITERS];
    run_writers(f->location, write_bars, status);
    struct bar_index idx;
    struct diag d;
    assert_int_equal(barstore_index(f->bs, INT32_MIN, INT32_MAX, &idx, &d), ERR_OK);
    assert_int_equal(idx.ndays, RACE_DAYS);
    struct barvec v;
    barvec_init(&v);
    for (size_t day = 0; day < idx.ndays; day++) {
        if (barstore_read_day(f->bs, &idx, day, &v, &d) != ERR_OK)
            fail_msg("day %zu: %s", day, d.text);
        assert_int_equal(v.n, 3);
        assert_string_equal(v.v[0].symbol, "AAA");
        assert_string_equal(v.v[1].symbol, "BBB");
        assert_string_equal(v.v[2].symbol, "CCC");
        assert_int_equal(idx.days[day].nparts, WRITERS); /* one part each, never an edit */
    }
    barvec_release(&v);
    bar_index_release(&idx);
}

/* Provisional bars and revisions (docs/INTEGRITY.md#revisions): a bar fetched before its settle
 * time is stored as provisional; a later fetch records a changed value as a revision, which
 * every reader takes as current; outside the settle window a differing bar stays a conflict. */
void store_case_barstore_revisions(void **state)
{
    struct store_fixture *f = *state;
    int32_t day;
    assert_int_equal(date_parse("2024-05-06", 10, &day), 0);
    struct bar first[] = {
        tu_bar("AAPL", "2024-05-06", 10, 11, 9, 10.5, 100),
        tu_bar("MSFT", "2024-05-06", 20, 21, 19, 20.5, 200),
    };
    struct barstore_write_stats st;
    struct diag d;
    /* 16:30: the day's bars are provisional. */
    struct barstore_write_opts early = {
        .revisions = 1, .provisional_from = day, .revise_from = day - 4};
    assert_int_equal(barstore_write(f->bs, first, 2, &early, &st, &d), ERR_OK);
    assert_int_equal(st.rows_new, 2);
    struct strvec keys = STRVEC_INIT;
    assert_int_equal(objstore_list(f->os, "bars/2024/2024-05-06/", &keys, &d), ERR_OK);
    assert_int_equal(keys.n, 1);
    assert_non_null(strstr(keys.v[0], "/rev-000000-provisional/part-"));
    strvec_release(&keys);
    struct barvec v;
    barvec_init(&v);
    read_day(f, "2024-05-06", &v, ERR_OK, NULL);
    assert_int_equal(v.n, 2);
    assert_int_equal(v.v[0].provisional, 1);
    assert_int_equal(v.v[1].provisional, 1);

    /* The next evening: AAPL's volume and low moved after the close, MSFT did not. */
    struct bar later[] = {
        tu_bar("AAPL", "2024-05-06", 10, 11, 8.5, 10.5, 140),
        tu_bar("MSFT", "2024-05-06", 20, 21, 19, 20.5, 200),
        tu_bar("AAPL", "2024-05-07", 10.5, 11, 10, 10.8, 90),
    };
    struct barstore_write_opts next = {
        .revisions = 1, .provisional_from = day + 1, .revise_from = day - 3};
    size_t disagree0 = barstore_disagreements(f->bs);
    assert_int_equal(barstore_write(f->bs, later, 3, &next, &st, &d), ERR_OK);
    assert_int_equal(st.rows_revised, 1);
    assert_int_equal(st.rows_finalized, 1);
    assert_int_equal(st.rows_new, 1);
    assert_int_equal(st.rows_conflict, 0);
    assert_int_equal(count_parts(f, "2024-05-06"), 2);
    read_day(f, "2024-05-06", &v, ERR_OK, NULL);
    assert_int_equal(v.n, 2);
    assert_true(bar_equal(&v.v[0], &later[0]));
    assert_int_equal(v.v[0].provisional, 0);
    assert_int_equal(v.v[1].provisional, 0);
    assert_int_equal(barstore_disagreements(f->bs), disagree0); /* superseded, not disputed */
    /* A fresh reader agrees. */
    struct barstore *other;
    assert_int_equal(barstore_new(f->os, &other, &d), ERR_OK);
    struct bar_index idx;
    assert_int_equal(barstore_index(other, day, day, &idx, &d), ERR_OK);
    assert_int_equal(barstore_read_day(other, &idx, 0, &v, &d), ERR_OK);
    assert_int_equal(v.v[0].volume, 140);
    bar_index_release(&idx);
    barstore_free(other);

    /* Writing the current values again is a no-op. */
    assert_int_equal(barstore_write(f->bs, later, 3, &next, &st, &d), ERR_OK);
    assert_int_equal(st.rows_same, 3);
    assert_int_equal(st.parts_written, 0);

    /* Outside the settle window a final bar that differs is a conflict, not a revision. */
    struct bar wrong = tu_bar("MSFT", "2024-05-06", 20, 21, 19, 25, 200);
    struct barstore_write_opts past = {
        .revisions = 1, .provisional_from = day + 10, .revise_from = day + 5};
    assert_int_equal(barstore_write(f->bs, &wrong, 1, &past, &st, &d), ERR_CONFLICT);
    assert_int_equal(st.rows_conflict, 1);
    /* And a writer that does not revise (import) never does. */
    assert_int_equal(barstore_write(f->bs, &wrong, 1, NULL, &st, &d), ERR_CONFLICT);
    read_day(f, "2024-05-06", &v, ERR_OK, NULL);
    assert_int_equal(v.v[1].close, 20500000);

    /* A provisional bar stays revisable whatever its age. */
    struct bar prov = tu_bar("MSFT", "2024-05-07", 20, 21, 19, 20.5, 200);
    assert_int_equal(barstore_write(f->bs, &prov, 1, &next, &st, &d), ERR_OK);
    struct bar prov2 = prov;
    prov2.volume = 260;
    assert_int_equal(barstore_write(f->bs, &prov2, 1, &past, &st, &d), ERR_OK);
    assert_int_equal(st.rows_revised, 1);
    read_day(f, "2024-05-07", &v, ERR_OK, NULL);
    assert_int_equal(v.v[1].volume, 260);
    assert_int_equal(v.v[1].provisional, 0);

    /* verify sees no disagreement in a store with revisions. */
    struct barstore_verify_stats vs;
    struct barstore_verify_opts vo = {0};
    assert_int_equal(barstore_verify(f->bs, &vo, &vs, &d), ERR_OK);
    assert_int_equal(vs.disagreements, 0);
    assert_int_equal(vs.damaged, 0);
    assert_int_equal(vs.other, 0);
    barvec_release(&v);
}

/* Put one bar as a part under the day's directory dir ("rev-000001/", "" for a plain part);
 * the key into key. */
static void put_rev_part(struct store_fixture *f, const struct bar *b, const char *dir, char *key)
{
    struct buf csv = BUF_INIT(1 << 16);
    assert_int_equal(barcsv_write_header(&csv), ERR_OK);
    assert_int_equal(barcsv_write_row(&csv, b), ERR_OK);
    char name[32], day[DATE_STRLEN + 1];
    barstore_part_name(csv.data, csv.len, name);
    date_format(b->date, day);
    snprintf(key, OBJ_KEY_MAX, "bars/%.4s/%s/%s%s", day, day, dir, name);
    struct diag d;
    assert_int_equal(objstore_put(f->os, key, csv.data, csv.len, OBJ_PUT_CREATE, NULL, &d), ERR_OK);
    buf_release(&csv);
}

struct final_revised_seen {
    size_t n;
    char symbol[BAR_SYMBOL_MAX + 1], field[32], final_key[OBJ_KEY_MAX], rev_key[OBJ_KEY_MAX];
};

static void on_final_revised(void *ctx, const struct barstore_disagreement *x)
{
    struct final_revised_seen *s = ctx;
    if (!x->final_revised)
        return;
    s->n++;
    snprintf(s->symbol, sizeof s->symbol, "%s", x->symbol);
    snprintf(s->field, sizeof s->field, "%s", x->field);
    snprintf(s->final_key, sizeof s->final_key, "%s", x->winner_key);
    snprintf(s->rev_key, sizeof s->rev_key, "%s", x->loser_key);
}

/* A revision of a final bar must come from a final fetch in a settle window that held the
 * bar's date, which its key names (rev-NNNNNN-window-YYYY-MM-DD).  Any other revision that
 * changes a final bar breaks the store's rules: every reader keeps the final bar and reports
 * the revision (part, symbol, date, field), verify counts it; the writer never makes one. */
void store_case_barstore_final_revised(void **state)
{
    struct store_fixture *f = *state;
    int32_t day;
    assert_int_equal(date_parse("2024-05-06", 10, &day), 0);
    struct diag d;
    struct barstore_write_stats st;
    /* Final bars, fetched after their settle time. */
    struct bar fin[] = {
        tu_bar("AAPL", "2024-05-06", 10, 11, 9, 10.5, 100),
        tu_bar("MSFT", "2024-05-06", 20, 21, 19, 20.5, 200),
    };
    struct barstore_write_opts evening = {
        .revisions = 1, .provisional_from = day + 1, .revise_from = day - 2};
    assert_int_equal(barstore_write(f->bs, fin, 2, &evening, &st, &d), ERR_OK);
    struct final_revised_seen seen = {0};
    barstore_on_disagree(f->bs, on_final_revised, &seen);
    size_t disagree0 = barstore_disagreements(f->bs), revised0 = barstore_final_revised(f->bs);
    struct barvec v;
    barvec_init(&v);

    /* A revision with no window (a writer outside the rules) changes AAPL's close. */
    struct bar bad = fin[0];
    bad.close = 12000000;
    char bad_key[OBJ_KEY_MAX];
    put_rev_part(f, &bad, "rev-000001/", bad_key);
    read_day(f, "2024-05-06", &v, ERR_OK, NULL);
    assert_int_equal(v.n, 2);
    assert_true(bar_equal(&v.v[0], &fin[0])); /* the final bar stands */
    assert_int_equal(seen.n, 1);
    assert_string_equal(seen.symbol, "AAPL");
    assert_string_equal(seen.field, "close");
    assert_string_equal(seen.rev_key, bad_key);
    assert_null(strstr(seen.final_key, "rev-"));
    assert_int_equal(barstore_final_revised(f->bs), revised0 + 1); /* counted apart */
    assert_int_equal(barstore_disagreements(f->bs), disagree0);
    /* A fresh reader does the same. */
    struct barstore *other;
    assert_int_equal(barstore_new(f->os, &other, &d), ERR_OK);
    struct bar_index idx;
    assert_int_equal(barstore_index(other, day, day, &idx, &d), ERR_OK);
    assert_int_equal(barstore_read_day(other, &idx, 0, &v, &d), ERR_OK);
    assert_true(bar_equal(&v.v[0], &fin[0]));
    bar_index_release(&idx);
    barstore_free(other);
    struct barstore_verify_stats vs;
    struct barstore_verify_opts vo = {.on_disagree = on_final_revised, .ctx = &seen};
    seen.n = 0;
    assert_int_equal(barstore_verify(f->bs, &vo, &vs, &d), ERR_OK);
    assert_int_equal(vs.final_revised, 1);
    assert_int_equal(vs.disagreements, 0);
    assert_int_equal(seen.n, 1);
    assert_string_equal(seen.rev_key, bad_key);

    /* A window that began after the date, and a provisional revision, break it too. */
    char key[OBJ_KEY_MAX];
    bad.close = 13000000;
    put_rev_part(f, &bad, "rev-000002-window-2024-05-07/", key);
    bad.close = 14000000;
    put_rev_part(f, &bad, "rev-000003-provisional/", key);
    seen.n = 0;
    read_day(f, "2024-05-06", &v, ERR_OK, NULL);
    assert_true(bar_equal(&v.v[0], &fin[0]));
    assert_int_equal(seen.n, 3);
    assert_int_equal(barstore_verify(f->bs, &vo, &vs, &d), ERR_OK);
    assert_int_equal(vs.final_revised, 3);

    /* A final fetch in the settle window revises it: the writer names its window. */
    struct bar corr = fin[0];
    corr.volume = 150;
    assert_int_equal(barstore_write(f->bs, &corr, 1, &evening, &st, &d), ERR_OK);
    assert_int_equal(st.rows_revised, 1);
    struct strvec keys = STRVEC_INIT;
    assert_int_equal(
        objstore_list(f->os, "bars/2024/2024-05-06/rev-000004-window-2024-05-04/", &keys, &d),
        ERR_OK);
    assert_int_equal(keys.n, 1);
    strvec_release(&keys);
    seen.n = 0;
    read_day(f, "2024-05-06", &v, ERR_OK, NULL);
    assert_true(bar_equal(&v.v[0], &corr));
    assert_int_equal(seen.n, 0);
    assert_int_equal(barstore_verify(f->bs, &vo, &vs, &d), ERR_OK);
    assert_int_equal(vs.final_revised, 0);

    /* A fetch before the settle time never revises a final bar: a conflict, not written. */
    struct bar early = fin[1];
    early.volume = 150;
    struct barstore_write_opts skewed = {
        .revisions = 1, .provisional_from = day, .revise_from = day - 2};
    assert_int_equal(barstore_write(f->bs, &early, 1, &skewed, &st, &d), ERR_CONFLICT);
    assert_int_equal(st.rows_conflict, 1);
    assert_int_equal(st.parts_written, 0);
    barstore_on_disagree(f->bs, NULL, NULL);
    barvec_release(&v);
}
