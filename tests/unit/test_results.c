/* Unit tests: the results a collection leaves (screen/results.h) on a local store: round
 * trips, the history merge, conditional writes against a concurrent writer, closes across a
 * split, the run record, and a named line and field for every kind of malformed input. */
#include "testutil.h"

#include "base/clock.h"
#include "base/date.h"
#include "base/log.h"
#include "codec/barcsv.h"
#include "screen/results.h"
#include "screen/screen_run.h"
#include "store/barstore.h"
#include "store/objstore.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A store whose puts can be raced: before a put of race_key, a "concurrent writer" replaces
 * that object with new content (a different history row each time), so that the put's
 * If-Match or create-if-absent fails as it would against another run. */
struct racer {
    struct objstore base;
    struct objstore *inner;
    const char *race_key;
    int races; /* puts still to race; -1: every one */
    int puts, raced;
};

static int racer_get(struct objstore *os, const char *key, struct buf *out, char *etag,
                     struct diag *d)
{
    return objstore_get(((struct racer *)os)->inner, key, out, etag, d);
}

static int racer_put(struct objstore *os, const char *key, const void *data, size_t len,
                     enum obj_put_mode mode, const char *if_match, struct diag *d)
{
    struct racer *r = (struct racer *)os;
    r->puts++;
    if (r->race_key && strcmp(key, r->race_key) == 0 && r->races != 0) {
        if (r->races > 0)
            r->races--;
        char text[256], day[DATE_STRLEN + 1];
        date_format(date_from_ymd(2030, 1, 1) + r->raced++, day);
        snprintf(text, sizeof text,
                 "date,rank,symbol,close,peak,peak_date,drawdown_pct,days_since_peak,"
                 "change_pct,volume\n%s,1,RACE,1.0000,2.0000,%s,-50.0000,1,,5\n",
                 day, day);
        struct diag d2;
        assert_int_equal(objstore_put(r->inner, key, text, strlen(text), OBJ_PUT_ALWAYS, NULL, &d2),
                         ERR_OK);
    }
    return objstore_put(r->inner, key, data, len, mode, if_match, d);
}

static int racer_list(struct objstore *os, const char *prefix, struct strvec *keys, struct diag *d)
{
    return objstore_list(((struct racer *)os)->inner, prefix, keys, d);
}

static int racer_del(struct objstore *os, const char *key, struct diag *d)
{
    return objstore_del(((struct racer *)os)->inner, key, d);
}

static int racer_link(struct objstore *os, const char *key, int64_t expires_s, struct buf *out,
                      struct diag *d)
{
    return objstore_link(((struct racer *)os)->inner, key, expires_s, out, d);
}

static void racer_free(struct objstore *os)
{
    (void)os; /* the inner store belongs to the fixture */
}

static const struct objstore_ops racer_ops = {
    .scheme = "racer",
    .get = racer_get,
    .put = racer_put,
    .list = racer_list,
    .del = racer_del,
    .link = racer_link,
    .free = racer_free,
};

struct fixture {
    char *dir;
    struct objstore *os;
    struct barstore *bs;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    struct diag d;
    f->dir = tu_mkdtemp();
    log_setup(LOG_OFF, LOG_FORMAT_JSON);
    assert_int_equal(objstore_local_open(tu_path(f->dir, "store"), &f->os, &d), ERR_OK);
    assert_int_equal(barstore_new(f->os, &f->bs, &d), ERR_OK);
    *state = f;
    return 0;
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

static int32_t day_of(const char *s)
{
    int32_t d;
    assert_int_equal(date_parse(s, strlen(s), &d), 0);
    return d;
}

/* A row whose numbers survive the 4-decimal CSV exactly. */
static struct screen_row row(const char *date, int rank, const char *symbol, double close,
                             double change)
{
    struct screen_row r;
    memset(&r, 0, sizeof r);
    r.date = day_of(date);
    r.rank = rank;
    snprintf(r.symbol, sizeof r.symbol, "%s", symbol);
    r.close = close;
    r.peak = close + 2.5;
    r.peak_date = r.date - 10;
    r.drawdown_pct = -20.0;
    r.days_since_peak = 7;
    r.change_pct = change;
    r.volume = 1000 + rank;
    return r;
}

static void assert_row_equal(const struct screen_row *a, const struct screen_row *b)
{
    assert_int_equal(a->date, b->date);
    assert_int_equal(a->rank, b->rank);
    assert_string_equal(a->symbol, b->symbol);
    assert_true(a->close == b->close);
    assert_true(a->peak == b->peak);
    assert_int_equal(a->peak_date, b->peak_date);
    assert_true(a->drawdown_pct == b->drawdown_pct);
    assert_int_equal(a->days_since_peak, b->days_since_peak);
    assert_true(isnan(a->change_pct) ? isnan(b->change_pct) : a->change_pct == b->change_pct);
    assert_int_equal(a->volume, b->volume);
}

static char *get_text(struct objstore *os, const char *key, char *etag)
{
    struct buf b = BUF_INIT((size_t)64 << 20);
    struct diag d;
    assert_int_equal(objstore_get(os, key, &b, etag, &d), ERR_OK);
    buf_putc(&b, '\0');
    return buf_detach(&b, NULL);
}

static void test_screen_key(void **state)
{
    (void)state;
    char key[OBJ_KEY_MAX];
    results_screen_key(day_of("2024-11-22"), key);
    assert_string_equal(key, "results/screen/2024/2024-11-22.csv");
    assert_true(objstore_key_valid(key));
}

static void test_screen_round_trip(void **state)
{
    struct fixture *f = *state;
    struct diag d;
    struct screen_row rows[] = {
        row("2024-11-22", 1, "AAA", 10.5, -3.25),
        row("2024-11-22", 2, "BRK.B", 400.125, NAN),
        row("2024-11-22", 3, "CCC", 0.0001, 12.0),
    };
    int32_t day = rows[0].date;
    assert_int_equal(results_write_screen(f->os, day, rows, 3, 1, &d), ERR_OK);

    /* The bytes are those of `screener screen --format csv`. */
    struct screen_opts o;
    screen_opts_default(&o);
    struct screen_writer w;
    struct buf want = BUF_INIT(1 << 20);
    screen_writer_begin(&w, &want, SCREEN_FORMAT_CSV, &o);
    screen_writer_rows(&w, &want, rows, 3);
    screen_writer_end(&w, &want);
    char key[OBJ_KEY_MAX];
    results_screen_key(day, key);
    char *got = get_text(f->os, key, NULL);
    assert_string_equal(got, buf_cstr(&want));
    free(got);
    got = get_text(f->os, RESULTS_LATEST_KEY, NULL);
    assert_string_equal(got, buf_cstr(&want));
    free(got);
    buf_release(&want);

    for (int latest = 0; latest < 2; latest++) {
        struct results_screen s;
        assert_int_equal(results_read_screen(f->os, latest ? 0 : day, &s, &d), ERR_OK);
        assert_int_equal(s.date, day);
        assert_int_equal(s.n, 3);
        for (size_t i = 0; i < 3; i++)
            assert_row_equal(&s.rows[i], &rows[i]);
        results_screen_release(&s);
    }

    /* An empty screen is a header, and reads back as no rows of that date. */
    int32_t empty_day = day_of("2024-11-25");
    assert_int_equal(results_write_screen(f->os, empty_day, NULL, 0, 0, &d), ERR_OK);
    struct results_screen s;
    assert_int_equal(results_read_screen(f->os, empty_day, &s, &d), ERR_OK);
    assert_int_equal(s.n, 0);
    assert_int_equal(s.date, empty_day);
    results_screen_release(&s);

    assert_int_equal(results_read_screen(f->os, day_of("2024-01-02"), &s, &d), ERR_NOTFOUND);
}

static void test_write_screen_checks_rows(void **state)
{
    struct fixture *f = *state;
    struct diag d;
    struct screen_row other[] = {row("2024-11-22", 1, "AAA", 10, 1),
                                 row("2024-11-21", 2, "B", 1, 1)};
    assert_int_equal(results_write_screen(f->os, other[0].date, other, 2, 1, &d), ERR_INVALID);
    assert_non_null(strstr(d.text, "row 2"));
    struct screen_row order[] = {row("2024-11-22", 2, "AAA", 10, 1),
                                 row("2024-11-22", 2, "B", 1, 1)};
    assert_int_equal(results_append_top(f->os, order[0].date, order, 2, 10, &d), ERR_INVALID);
    assert_non_null(strstr(d.text, "rank 2 out of order"));
    struct strvec keys = STRVEC_INIT;
    assert_int_equal(objstore_list(f->os, "results/", &keys, &d), ERR_OK);
    assert_int_equal(keys.n, 0); /* nothing written */
    strvec_release(&keys);
}

static void test_latest_never_goes_back(void **state)
{
    struct fixture *f = *state;
    struct diag d;
    struct screen_row newer = row("2024-11-22", 1, "NEW", 10, 1);
    struct screen_row older = row("2024-11-21", 1, "OLD", 10, 1);
    assert_int_equal(results_write_screen(f->os, newer.date, &newer, 1, 1, &d), ERR_OK);
    /* A slower run that screened the day before finishes last. */
    assert_int_equal(results_write_screen(f->os, older.date, &older, 1, 1, &d), ERR_OK);
    struct results_screen s;
    assert_int_equal(results_read_screen(f->os, 0, &s, &d), ERR_OK);
    assert_int_equal(s.date, newer.date);
    assert_string_equal(s.rows[0].symbol, "NEW");
    results_screen_release(&s);
    assert_int_equal(results_read_screen(f->os, older.date, &s, &d), ERR_OK);
    assert_string_equal(s.rows[0].symbol, "OLD");
    results_screen_release(&s);
    /* The same date again replaces it (a rerun after a late bar). */
    struct screen_row again = row("2024-11-22", 1, "FIX", 10, 1);
    assert_int_equal(results_write_screen(f->os, again.date, &again, 1, 1, &d), ERR_OK);
    assert_int_equal(results_read_screen(f->os, 0, &s, &d), ERR_OK);
    assert_string_equal(s.rows[0].symbol, "FIX");
    results_screen_release(&s);
    /* An unreadable latest.csv is derived data: it is replaced. */
    assert_int_equal(objstore_put(f->os, RESULTS_LATEST_KEY, "junk", 4, OBJ_PUT_ALWAYS, NULL, &d),
                     ERR_OK);
    assert_int_equal(results_write_screen(f->os, older.date, &older, 1, 1, &d), ERR_OK);
    assert_int_equal(results_read_screen(f->os, 0, &s, &d), ERR_OK);
    assert_string_equal(s.rows[0].symbol, "OLD");
    results_screen_release(&s);
}

static void read_history(struct objstore *os, struct results_history *h)
{
    struct diag d;
    assert_int_equal(results_read_top(os, h, &d), ERR_OK);
    for (size_t i = 1; i < h->n; i++)
        assert_true(
            h->rows[i - 1].date < h->rows[i].date ||
            (h->rows[i - 1].date == h->rows[i].date && h->rows[i - 1].rank < h->rows[i].rank));
}

static size_t rows_of(const struct results_history *h, const char *date)
{
    size_t n = 0;
    for (size_t i = 0; i < h->n; i++)
        n += h->rows[i].date == day_of(date);
    return n;
}

static void test_history_merge(void **state)
{
    struct fixture *f = *state;
    struct diag d;
    struct results_history h;
    assert_int_equal(results_read_top(f->os, &h, &d), ERR_NOTFOUND);

    struct screen_row d1[] = {
        row("2024-11-21", 1, "A", 1, 1),   row("2024-11-21", 2, "B", 2, 2),
        row("2024-11-21", 3, "C", 3, 3),   row("2024-11-21", 4, "D", 4, 4),
        row("2024-11-21", 5, "E", 5, NAN),
    };
    assert_int_equal(results_append_top(f->os, d1[0].date, d1, 5, 3, &d), ERR_OK);
    read_history(f->os, &h);
    assert_int_equal(h.n, 3);
    for (size_t i = 0; i < 3; i++)
        assert_row_equal(&h.rows[i], &d1[i]);
    results_history_release(&h);

    /* A second date is appended after the first. */
    struct screen_row d2[] = {row("2024-11-22", 1, "X", 1, 1), row("2024-11-22", 2, "Y", 2, 2)};
    assert_int_equal(results_append_top(f->os, d2[0].date, d2, 2, 10, &d), ERR_OK);
    read_history(f->os, &h);
    assert_int_equal(h.n, 5);
    assert_int_equal(rows_of(&h, "2024-11-21"), 3);
    assert_int_equal(rows_of(&h, "2024-11-22"), 2);
    results_history_release(&h);

    /* The same date again replaces its rows and leaves the others. */
    struct screen_row d1b[] = {row("2024-11-21", 1, "Q", 9, 9), row("2024-11-21", 2, "R", 8, 8)};
    assert_int_equal(results_append_top(f->os, d1b[0].date, d1b, 2, 10, &d), ERR_OK);
    read_history(f->os, &h);
    assert_int_equal(h.n, 4);
    assert_row_equal(&h.rows[0], &d1b[0]);
    assert_row_equal(&h.rows[1], &d1b[1]);
    assert_row_equal(&h.rows[2], &d2[0]);
    assert_row_equal(&h.rows[3], &d2[1]);
    results_history_release(&h);

    /* An earlier date goes before, in date order, and top 0 takes every row. */
    struct screen_row d0[] = {row("2024-11-20", 1, "Z", 1, 1), row("2024-11-20", 2, "ZZ", 2, 2)};
    assert_int_equal(results_append_top(f->os, d0[0].date, d0, 2, 0, &d), ERR_OK);
    read_history(f->os, &h);
    assert_int_equal(h.n, 6);
    assert_row_equal(&h.rows[0], &d0[0]);
    assert_row_equal(&h.rows[5], &d2[1]);
    results_history_release(&h);

    /* A rerun with the same rows writes nothing: the object keeps its version. */
    char before[OBJ_ETAG_MAX], after[OBJ_ETAG_MAX];
    free(get_text(f->os, RESULTS_TOP_KEY, before));
    struct racer r = {{&racer_ops, "racer", NULL}, f->os, NULL, 0, 0, 0};
    assert_int_equal(results_append_top(&r.base, d2[0].date, d2, 2, 10, &d), ERR_OK);
    assert_int_equal(r.puts, 0);
    free(get_text(f->os, RESULTS_TOP_KEY, after));
    assert_string_equal(before, after);

    /* A date whose screen is empty keeps no rows. */
    assert_int_equal(results_append_top(f->os, d2[0].date, NULL, 0, 10, &d), ERR_OK);
    read_history(f->os, &h);
    assert_int_equal(h.n, 4);
    assert_int_equal(rows_of(&h, "2024-11-22"), 0);
    results_history_release(&h);
}

static void test_history_concurrent_writer(void **state)
{
    struct fixture *f = *state;
    struct diag d;
    struct screen_row d1[] = {row("2024-11-21", 1, "A", 1, 1), row("2024-11-21", 2, "B", 2, 2)};
    /* The object is absent: the other writer creates it first, the create fails. */
    struct racer r = {{&racer_ops, "racer", NULL}, f->os, RESULTS_TOP_KEY, 1, 0, 0};
    assert_int_equal(results_append_top(&r.base, d1[0].date, d1, 2, 10, &d), ERR_OK);
    assert_int_equal(r.puts, 2);
    struct results_history h;
    read_history(f->os, &h);
    assert_int_equal(h.n, 3); /* both runs' dates */
    assert_int_equal(rows_of(&h, "2024-11-21"), 2);
    assert_int_equal(rows_of(&h, "2030-01-01"), 1);
    results_history_release(&h);

    /* The object exists: the other writer changes it between our read and our put, twice. */
    struct screen_row d2[] = {row("2024-11-22", 1, "C", 1, 1)};
    r.races = 2;
    r.puts = 0;
    assert_int_equal(results_append_top(&r.base, d2[0].date, d2, 1, 10, &d), ERR_OK);
    assert_int_equal(r.puts, 3);
    read_history(f->os, &h);
    /* The racer replaced the whole file each time (its last write holds 2030-01-03), and our
     * merge kept what it found then: nothing it wrote before our last read is lost. */
    assert_int_equal(rows_of(&h, "2024-11-22"), 1);
    assert_int_equal(rows_of(&h, "2030-01-03"), 1);
    results_history_release(&h);

    /* A writer that always gets there first: give up after the attempts, saying why. */
    struct screen_row d3 = row("2024-11-25", 1, "D", 1, 1);
    r.races = -1;
    r.puts = 0;
    assert_int_equal(results_append_top(&r.base, d3.date, &d3, 1, 10, &d), ERR_PRECONDITION);
    assert_int_equal(r.puts, RESULTS_WRITE_ATTEMPTS);
    assert_non_null(strstr(d.text, RESULTS_TOP_KEY));
    assert_non_null(strstr(d.text, "gave up after 8 attempts"));

    /* latest.csv is conditional too: the other run's newer screen lands first and stays. */
    r.race_key = RESULTS_LATEST_KEY;
    r.races = 1;
    r.puts = 0;
    assert_int_equal(results_write_screen(&r.base, d2[0].date, d2, 1, 1, &d), ERR_OK);
    assert_int_equal(r.puts, 2); /* the dated file, the raced create; then nothing to do */
    struct results_screen s;
    assert_int_equal(results_read_screen(f->os, 0, &s, &d), ERR_OK);
    assert_int_equal(s.date, date_from_ymd(2030, 1, 1) + r.raced - 1);
    assert_string_equal(s.rows[0].symbol, "RACE");
    results_screen_release(&s);
}

/* The day's results written together (results_write_day) meet another writer as the functions
 * that write one each do: a lost conditional write is read again and retried on its own, and
 * one that keeps losing is reported with the same error, the other file written all the same. */
static void test_day_concurrent_writer(void **state)
{
    struct fixture *f = *state;
    struct diag d;
    struct screen_row d1[] = {row("2024-11-21", 1, "A", 1, 1), row("2024-11-21", 2, "B", 2, 2)};
    struct racer r = {{&racer_ops, "racer", NULL}, f->os, RESULTS_TOP_KEY, 2, 0, 0};
    struct results_day day;
    results_write_day(&r.base, d1[0].date, d1, 2, 10, &day);
    assert_int_equal(day.screen_err, ERR_OK);
    assert_int_equal(day.top_err, ERR_OK);
    assert_int_equal(r.puts, 2 + 3); /* the dated screen, latest.csv; the history three times */
    struct results_history h;
    read_history(f->os, &h);
    assert_int_equal(rows_of(&h, "2024-11-21"), 2);
    assert_int_equal(rows_of(&h, "2030-01-02"), 1); /* the other writer's last version kept */
    results_history_release(&h);
    struct results_screen s;
    assert_int_equal(results_read_screen(f->os, 0, &s, &d), ERR_OK);
    assert_int_equal(s.date, d1[0].date);
    results_screen_release(&s);

    /* A writer that always gets there first: the history gives up, saying why, exactly as
     * results_append_top does; the screen is written. */
    struct screen_row d2[] = {row("2024-11-22", 1, "C", 1, 1)};
    r.races = -1;
    r.puts = 0;
    results_write_day(&r.base, d2[0].date, d2, 1, 10, &day);
    assert_int_equal(day.screen_err, ERR_OK);
    assert_int_equal(day.top_err, ERR_PRECONDITION);
    assert_int_equal(r.puts, 2 + RESULTS_WRITE_ATTEMPTS);
    struct diag alone;
    r.puts = 0;
    assert_int_equal(results_append_top(&r.base, d2[0].date, d2, 1, 10, &alone), ERR_PRECONDITION);
    assert_string_equal(day.top_d.text, alone.text);
    assert_int_equal(results_read_screen(f->os, 0, &s, &d), ERR_OK);
    assert_int_equal(s.date, d2[0].date);
    results_screen_release(&s);

    /* latest.csv lost to another run's newer screen: it stays, as with results_write_screen. */
    struct screen_row d3[] = {row("2024-11-25", 1, "D", 1, 1)};
    r.race_key = RESULTS_LATEST_KEY;
    r.races = 1;
    r.puts = 0;
    results_write_day(&r.base, d3[0].date, d3, 1, 10, &day);
    assert_int_equal(day.screen_err, ERR_OK);
    assert_int_equal(day.top_err, ERR_OK);
    assert_int_equal(r.puts, 3); /* the dated file, the raced replace, the history */
    assert_int_equal(results_read_screen(f->os, 0, &s, &d), ERR_OK);
    assert_string_equal(s.rows[0].symbol, "RACE");
    results_screen_release(&s);
}

/* ---- malformed input: every error names the object, the line and the field ---- */

#define HDR  "date,rank,symbol,close,peak,peak_date,drawdown_pct,days_since_peak,change_pct,volume\n"
#define ROW1 "2024-11-22,1,AAA,10.0000,12.5000,2024-11-12,-20.0000,7,-1.2500,100\n"

struct bad_case {
    const char *text;
    int err;
    const char *where; /* "name:line: field 'x'" or another fragment that must appear */
};

static void run_bad_cases(const struct bad_case *c, size_t n, int history)
{
    for (size_t i = 0; i < n; i++) {
        struct diag d;
        diag_clear(&d);
        int err;
        if (history) {
            struct results_history h = {0};
            err = results_parse_top("top.csv", c[i].text, strlen(c[i].text), &h, &d);
            results_history_release(&h);
        } else {
            struct results_screen s = {0};
            err = results_parse_screen("s.csv", c[i].text, strlen(c[i].text), &s, &d);
            results_screen_release(&s);
        }
        if (err != c[i].err || !strstr(d.text, c[i].where))
            fail_msg("case %zu: got %s '%s', want %s with '%s'", i, err_name(err), d.text,
                     err_name(c[i].err), c[i].where);
    }
}

static void test_screen_malformed(void **state)
{
    (void)state;
    static const struct bad_case cases[] = {
        {"", ERR_PARSE, "s.csv: empty file"},
        {"\n\n", ERR_PARSE, "s.csv: empty file"},
        {"date,rank,sym\n", ERR_PARSE, "s.csv:1: header: column 3: expected 'symbol', got 'sym'"},
        {"date,rank\n", ERR_PARSE, "s.csv:1: header: column 3: expected 'symbol', got none"},
        {"date,rank,symbol,close,peak,peak_date,drawdown_pct,days_since_peak,change_pct,volume,x\n",
         ERR_PARSE, "s.csv:1: header: expected 10 columns, got 'x'"},
        {HDR "2024-11-22,1,AAA\n", ERR_PARSE, "s.csv:2: expected 10 fields"},
        {HDR "2024-11-31,1,AAA,10,12,2024-11-12,-20,7,-1,100\n", ERR_PARSE,
         "s.csv:2: field 'date'"},
        {HDR "22/11/2024,1,AAA,10,12,2024-11-12,-20,7,-1,100\n", ERR_PARSE,
         "s.csv:2: field 'date'"},
        {HDR "2024-11-22,0,AAA,10,12,2024-11-12,-20,7,-1,100\n", ERR_INVALID,
         "s.csv:2: field 'rank'"},
        {HDR "2024-11-22,x,AAA,10,12,2024-11-12,-20,7,-1,100\n", ERR_PARSE,
         "s.csv:2: field 'rank'"},
        {HDR "2024-11-22,99999999999,AAA,10,12,2024-11-12,-20,7,-1,100\n", ERR_INVALID,
         "s.csv:2: field 'rank'"},
        {HDR "2024-11-22,1,a a,10,12,2024-11-12,-20,7,-1,100\n", ERR_INVALID,
         "s.csv:2: field 'symbol'"},
        {HDR "2024-11-22,1,,10,12,2024-11-12,-20,7,-1,100\n", ERR_INVALID,
         "s.csv:2: field 'symbol'"},
        {HDR "2024-11-22,1,AAA,-10,12,2024-11-12,-20,7,-1,100\n", ERR_INVALID,
         "s.csv:2: field 'close'"},
        {HDR "2024-11-22,1,AAA,ten,12,2024-11-12,-20,7,-1,100\n", ERR_PARSE,
         "s.csv:2: field 'close'"},
        {HDR "2024-11-22,1,AAA,10,1e3,2024-11-12,-20,7,-1,100\n", ERR_PARSE,
         "s.csv:2: field 'peak'"},
        {HDR "2024-11-22,1,AAA,10,12,2024-11-23,-20,7,-1,100\n", ERR_INVALID,
         "s.csv:2: field 'peak_date'"},
        {HDR "2024-11-22,1,AAA,10,12,,-20,7,-1,100\n", ERR_PARSE, "s.csv:2: field 'peak_date'"},
        {HDR "2024-11-22,1,AAA,10,12,2024-11-12,nan,7,-1,100\n", ERR_PARSE,
         "s.csv:2: field 'drawdown_pct'"},
        {HDR "2024-11-22,1,AAA,10,12,2024-11-12,,7,-1,100\n", ERR_PARSE,
         "s.csv:2: field 'drawdown_pct'"},
        {HDR "2024-11-22,1,AAA,10,12,2024-11-12,-20,-7,-1,100\n", ERR_INVALID,
         "s.csv:2: field 'days_since_peak'"},
        {HDR "2024-11-22,1,AAA,10,12,2024-11-12,-20,7,down,100\n", ERR_PARSE,
         "s.csv:2: field 'change_pct'"},
        {HDR "2024-11-22,1,AAA,10,12,2024-11-12,-20,7,-1,-100\n", ERR_INVALID,
         "s.csv:2: field 'volume'"},
        {HDR "2024-11-22,1,AAA,10,12,2024-11-12,-20,7,-1,1.5\n", ERR_INVALID,
         "s.csv:2: field 'volume'"},
        {HDR ROW1 "2024-11-22,1,BBB,10,12,2024-11-12,-20,7,-1,100\n", ERR_INVALID,
         "s.csv:3: field 'rank'"},
        {HDR ROW1 "2024-11-23,2,BBB,10,12,2024-11-12,-20,7,-1,100\n", ERR_INVALID,
         "s.csv:3: field 'date': a screen holds one date"},
        {HDR ROW1 "2024-11-22,2,AAA,10,12,2024-11-12,-20,7,-1,100\n", ERR_INVALID,
         "s.csv:3: field 'symbol': 'AAA' is listed twice"},
        {HDR ROW1 "2024-11-22,2,\"BBB,10\n", ERR_PARSE, "s.csv: line 3: unterminated"},
        {HDR "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17\n", ERR_TOOBIG, "s.csv"},
    };
    run_bad_cases(cases, sizeof cases / sizeof cases[0], 0);

    /* What is accepted: CRLF, a byte order mark, blank lines, an empty change. */
    const char ok[] = "\xEF\xBB\xBF"
                      "date,rank,symbol,close,peak,peak_date,drawdown_pct,"
                      "days_since_peak,change_pct,volume\r\n\r\n"
                      "2024-11-22,1,AAA,10,12,2024-11-12,-20,7,,100\r\n";
    struct results_screen s = {0};
    struct diag d;
    assert_int_equal(results_parse_screen("ok.csv", ok, strlen(ok), &s, &d), ERR_OK);
    assert_int_equal(s.n, 1);
    assert_true(isnan(s.rows[0].change_pct));
    results_screen_release(&s);
}

static void test_history_malformed(void **state)
{
    (void)state;
    static const struct bad_case cases[] = {
        {HDR ROW1 "2024-11-21,1,BBB,10,12,2024-11-12,-20,7,-1,100\n", ERR_INVALID,
         "top.csv:3: field 'date': expected dates in ascending order"},
        {HDR ROW1 "2024-11-23,2,BBB,10,12,2024-11-12,-20,7,-1,100\n"
                  "2024-11-23,1,CCC,10,12,2024-11-12,-20,7,-1,100\n",
         ERR_INVALID, "top.csv:4: field 'rank'"},
        {HDR ROW1 "2024-11-23,1,BBB,10,12,2024-11-12,-20,7,-1,100\n"
                  "2024-11-23,2,BBB,10,12,2024-11-12,-20,7,-1,100\n",
         ERR_INVALID, "top.csv:4: field 'symbol'"},
        {HDR ROW1 "2024-11-23,1,BBB,10,12,2024-11-12,-20,7,-1,100,9\n", ERR_PARSE,
         "top.csv:3: expected 10 fields"},
    };
    run_bad_cases(cases, sizeof cases / sizeof cases[0], 1);

    /* The same symbol on two dates is the history working. */
    const char ok[] = HDR ROW1 "2024-11-23,1,AAA,10,12,2024-11-12,-20,7,-1,100\n";
    struct results_history h = {0};
    struct diag d;
    assert_int_equal(results_parse_top("top.csv", ok, strlen(ok), &h, &d), ERR_OK);
    assert_int_equal(h.n, 2);
    results_history_release(&h);
}

static void test_stored_garbage_is_reported(void **state)
{
    struct fixture *f = *state;
    struct diag d;
    const char bad[] = HDR ROW1 "2024-11-23,1,BBB,10,12,2024-11-12,-20,7,-1,lots\n";
    assert_int_equal(
        objstore_put(f->os, RESULTS_TOP_KEY, bad, strlen(bad), OBJ_PUT_ALWAYS, NULL, &d), ERR_OK);
    struct results_history h;
    assert_int_equal(results_read_top(f->os, &h, &d), ERR_PARSE);
    assert_non_null(strstr(d.text, "results/top_candidates.csv:3: field 'volume'"));
    /* A history that cannot be read is put aside whole, then replaced: the next write works
     * again (the other dates come back from the bars, results_fill_top), nothing is lost. */
    struct screen_row r1 = row("2024-11-24", 1, "A", 1, 1);
    assert_int_equal(results_append_top(f->os, r1.date, &r1, 1, 10, &d), ERR_OK);
    assert_int_equal(results_read_top(f->os, &h, &d), ERR_OK);
    assert_int_equal(h.n, 1);
    assert_string_equal(h.rows[0].symbol, "A");
    results_history_release(&h);
    struct strvec keys = STRVEC_INIT;
    assert_int_equal(objstore_list(f->os, "results/damaged/", &keys, &d), ERR_OK);
    assert_int_equal(keys.n, 1);
    assert_non_null(strstr(keys.v[0], "results/damaged/top_candidates-"));
    char *kept = get_text(f->os, keys.v[0], NULL);
    assert_string_equal(kept, bad);
    free(kept);
    strvec_release(&keys);
    /* Damaged again the same way: one copy (named by its content). */
    assert_int_equal(
        objstore_put(f->os, RESULTS_TOP_KEY, bad, strlen(bad), OBJ_PUT_ALWAYS, NULL, &d), ERR_OK);
    assert_int_equal(results_append_top(f->os, r1.date, &r1, 1, 10, &d), ERR_OK);
    assert_int_equal(objstore_list(f->os, "results/damaged/", &keys, &d), ERR_OK);
    assert_int_equal(keys.n, 1);
    strvec_release(&keys);
    /* Rows that repeat a symbol on a date are damage too. */
    const char twice[] = HDR ROW1 ROW1;
    assert_int_equal(
        objstore_put(f->os, RESULTS_TOP_KEY, twice, strlen(twice), OBJ_PUT_ALWAYS, NULL, &d),
        ERR_OK);
    assert_int_equal(results_append_top(f->os, r1.date, &r1, 1, 10, &d), ERR_OK);
    assert_int_equal(objstore_list(f->os, "results/damaged/", &keys, &d), ERR_OK);
    assert_int_equal(keys.n, 2);
    strvec_release(&keys);
}

/* ---- closes.csv and bars-1y.csv ---- */

static void put_bars(struct fixture *f, const struct barvec *bv)
{
    struct diag d;
    struct barstore_write_stats ws;
    assert_int_equal(barstore_write(f->bs, bv->v, bv->n, NULL, &ws, &d), ERR_OK);
}

static double price_of(const struct bar *b)
{
    return (double)b->close / 1e6;
}

static void test_closes_across_a_split(void **state)
{
    struct fixture *f = *state;
    struct diag d;
    struct barvec bv;
    barvec_init(&bv);
    /* SPLT trades every weekday from 2024-01-01 to 2024-06-28 near $200, then 2-for-1 from
     * 2024-06-14 (near $100).  GONE stopped trading in March.  EDGE has a bar on the
     * archive's first day (RESULTS_BARS_DAYS back: a year and the peak window before it), OLD
     * one the day before: out of the archive. */
    int32_t first = day_of("2024-01-01"), last = day_of("2024-06-28"), ex = day_of("2024-06-14");
    size_t nsplt = 0;
    for (int32_t t = first; t <= last; t++) {
        if (date_weekday(t) == 0 || date_weekday(t) == 6)
            continue;
        char day[DATE_STRLEN + 1];
        date_format(t, day);
        double p = (t < ex ? 200.0 : 100.0) + (double)(nsplt++ % 7) * 0.25;
        if (t < day_of("2024-03-15")) {
            struct bar g = tu_bar("GONE", day, 5, 6, 4, 5, 10);
            barvec_push(&bv, &g);
        }
        struct bar b = tu_bar("SPLT", day, p, p + 1, p - 1, p, 1000);
        barvec_push(&bv, &b);
    }
    struct bar old = tu_bar("OLD", "2022-12-31", 5, 6, 4, 5, 10);
    barvec_push(&bv, &old);
    struct bar edge = tu_bar("EDGE", "2023-01-01", 5, 6, 4, 5, 10);
    barvec_push(&bv, &edge);
    assert_int_equal(day_of("2023-01-01"), last - (RESULTS_BARS_DAYS - 1));
    put_bars(f, &bv);
    struct split sp = {"SPLT", ex, 2000000, 1000000};
    size_t added;
    assert_int_equal(barstore_write_splits(f->bs, &sp, 1, &added, &d), ERR_OK);

    assert_int_equal(results_write_exports(f->os, f->bs, last, &d), ERR_OK);
    struct results_closes c;
    assert_int_equal(results_read_closes(f->os, "SPLT", &c, &d), ERR_OK);
    assert_int_equal(c.n, RESULTS_CLOSES);
    assert_int_equal(c.date, last);
    for (size_t i = 1; i < c.n; i++) {
        double ratio = c.closes[i] / c.closes[i - 1];
        if (ratio < 0.9 || ratio > 1.1)
            fail_msg("close %zu jumps from %.4f to %.4f across the split", i, c.closes[i - 1],
                     c.closes[i]);
    }
    /* The oldest kept close is from before the split, halved; the last is as traded. */
    const struct bar *last_bar = NULL, *oldest = NULL;
    size_t seen = 0;
    for (size_t i = bv.n; i-- > 0;) {
        if (strcmp(bv.v[i].symbol, "SPLT") != 0)
            continue;
        if (!last_bar)
            last_bar = &bv.v[i];
        if (++seen == RESULTS_CLOSES)
            oldest = &bv.v[i];
    }
    assert_non_null(last_bar);
    assert_non_null(oldest);
    if (!oldest || !last_bar)
        return;
    assert_true(oldest->date < ex);
    assert_true(fabs(c.closes[0] - price_of(oldest) / 2) < 1e-9);
    assert_true(fabs(c.closes[c.n - 1] - price_of(last_bar)) < 1e-9);

    /* ... and it is the close the screen shows. */
    struct results_closes gone;
    assert_int_equal(results_read_closes(f->os, "GONE", &gone, &d), ERR_NOTFOUND);
    assert_non_null(strstr(d.text, "no closes for 'GONE'"));
    assert_int_equal(results_read_closes(f->os, "OLD", &gone, &d), ERR_NOTFOUND);

    /* bars-1y.csv: every bar of the year, raw, by date then symbol; not OLD. */
    char *text = get_text(f->os, RESULTS_BARS1Y_KEY, NULL);
    size_t len = strlen(text);
    struct barcsv_reader r;
    assert_int_equal(barcsv_reader_init(&r, "bars-1y.csv", text, len, &d), ERR_OK);
    assert_true(r.canonical);
    struct bar b, prev = {0};
    size_t n = 0;
    int err;
    while ((err = barcsv_next(&r, &b, &d)) == ERR_OK) {
        assert_string_not_equal(b.symbol, "OLD");
        if (n)
            assert_true(prev.date < b.date ||
                        (prev.date == b.date && strcmp(prev.symbol, b.symbol) < 0));
        if (strcmp(b.symbol, "SPLT") == 0 && b.date < ex)
            assert_true(b.close >= 200000000); /* raw, not adjusted */
        prev = b;
        n++;
    }
    assert_int_equal(err, ERR_EOF);
    assert_int_equal(n, bv.n - 1);
    free(text);
    barvec_release(&bv);
}

static int keep_close(void *ctx, int32_t date, const struct screen_row *rows, size_t n)
{
    (void)date;
    for (size_t i = 0; i < n; i++)
        if (strcmp(rows[i].symbol, "SPLT") == 0)
            *(double *)ctx = rows[i].close;
    return ERR_OK;
}

static void test_closes_match_the_screen(void **state)
{
    struct fixture *f = *state;
    struct diag d;
    struct barvec bv;
    barvec_init(&bv);
    /* A 3-for-2 split makes closes that are not round: the last close must still be the
     * screen's, to the last digit printed. */
    int32_t first = day_of("2024-01-01"), ex = day_of("2024-01-20");
    for (int32_t t = first; t < first + 40; t++) {
        char day[DATE_STRLEN + 1];
        date_format(t, day);
        double p = 100.37 + (double)(t - first) * 0.13;
        struct bar b = tu_bar("SPLT", day, p, p + 1, p - 1, p, 1000);
        barvec_push(&bv, &b);
    }
    put_bars(f, &bv);
    struct split sp = {"SPLT", ex, 3000000, 2000000};
    size_t added;
    assert_int_equal(barstore_write_splits(f->bs, &sp, 1, &added, &d), ERR_OK);
    int32_t last = first + 39;
    assert_int_equal(results_write_exports(f->os, f->bs, last, &d), ERR_OK);
    struct results_closes c;
    assert_int_equal(results_read_closes(f->os, "SPLT", &c, &d), ERR_OK);
    assert_int_equal(c.n, 40);
    struct screen_opts o;
    screen_opts_default(&o);
    o.top = 0;
    o.min_bars = 1;
    double close = 0;
    struct screen_run_stats rs;
    assert_int_equal(screen_run(f->bs, &o, first + 5, first + 5, keep_close, &close, &rs, &d),
                     ERR_OK);
    /* Before the split: the screen of that day shows the raw close; closes.csv divides it by
     * 1.5 as of the last day. */
    char a[32], b[32];
    snprintf(a, sizeof a, "%.4f", close / 1.5);
    snprintf(b, sizeof b, "%.4f", c.closes[5]);
    assert_string_equal(a, b);
    assert_int_equal(screen_run(f->bs, &o, last, last, keep_close, &close, &rs, &d), ERR_OK);
    snprintf(a, sizeof a, "%.4f", close);
    snprintf(b, sizeof b, "%.4f", c.closes[39]);
    assert_string_equal(a, b);
    barvec_release(&bv);
}

/* ---- past picks from day one ---- */

/* A market of 5 symbols on every day from 2024-01-01, falling and rising at different
 * rates, so that the ranks change from day to day. */
static void put_market(struct fixture *f, int32_t from, int ndays)
{
    struct barvec bv;
    barvec_init(&bv);
    static const char *const syms[] = {"AAA", "BBB", "CCC", "DDD", "EEE"};
    int32_t base = day_of("2024-01-01");
    for (int32_t t = from; t < from + ndays; t++) {
        char day[DATE_STRLEN + 1];
        date_format(base + t, day);
        for (int k = 0; k < 5; k++) {
            double p = 50.0 + 10.0 * k + 7.0 * sin(0.1 * (double)t * (k + 1)) + 0.25 * t;
            struct bar b = tu_bar(syms[k], day, p, p + 1, p - 1, p, 1000 + t);
            barvec_push(&bv, &b);
        }
    }
    put_bars(f, &bv);
    barvec_release(&bv);
}

struct collected {
    struct results_history h;
};

static int collect_rows(void *ctx, int32_t date, const struct screen_row *rows, size_t n)
{
    struct collected *c = ctx;
    for (size_t i = 0; i < n; i++) {
        if (c->h.n == c->h.cap) {
            c->h.cap = c->h.cap ? 2 * c->h.cap : 64;
            c->h.rows = realloc(c->h.rows, c->h.cap * sizeof *c->h.rows);
        }
        c->h.rows[c->h.n++] = rows[i];
    }
    (void)date;
    return 0;
}

/* The history must be what the full-history screen gives, top 3 of every date, as written
 * and read back. */
static void assert_history_is_the_screen(struct fixture *f)
{
    struct diag d;
    struct screen_opts o;
    screen_opts_default(&o);
    o.top = 3;
    struct collected c = {{0}};
    struct screen_run_stats rs;
    int32_t first, last;
    assert_int_equal(barstore_date_range(f->bs, &first, &last, NULL, &d), ERR_OK);
    assert_int_equal(screen_run(f->bs, &o, first, last, collect_rows, &c, &rs, &d), ERR_OK);
    struct results_history h;
    assert_int_equal(results_read_top(f->os, &h, &d), ERR_OK);
    assert_int_equal(h.n, c.h.n);
    for (size_t i = 0; i < h.n; i++) {
        assert_int_equal(h.rows[i].date, c.h.rows[i].date);
        assert_int_equal(h.rows[i].rank, c.h.rows[i].rank);
        assert_string_equal(h.rows[i].symbol, c.h.rows[i].symbol);
    }
    results_history_release(&h);
    results_history_release(&c.h);
}

static void test_fill_history_from_day_one(void **state)
{
    struct fixture *f = *state;
    struct diag d;
    struct results_fill_stats st;
    /* Nothing stored: nothing to do. */
    assert_int_equal(results_fill_top(f->os, f->bs, 3, 0, &st, &d), ERR_OK);
    assert_int_equal(st.dates_stored, 0);
    assert_int_equal(st.passes, 0);
    /* 60 days, as a backfill leaves them: the first 29 cannot have a candidate (fewer than
     * 30 stored dates in their window), the other 31 are screened in one pass. */
    put_market(f, 0, 60);
    assert_int_equal(results_fill_top(f->os, f->bs, 3, 0, &st, &d), ERR_OK);
    assert_int_equal(st.dates_stored, 60);
    assert_int_equal(st.dates_missing, 31);
    assert_int_equal(st.dates_added, 31);
    assert_int_equal(st.passes, 1);
    assert_true(st.complete);
    assert_history_is_the_screen(f);
    /* Again: nothing is screened, nothing written. */
    assert_int_equal(results_fill_top(f->os, f->bs, 3, 0, &st, &d), ERR_OK);
    assert_int_equal(st.dates_missing, 0);
    assert_int_equal(st.passes, 0);
    assert_int_equal(st.days_read, 0);
    /* Four new days: only they are screened, reading their window, not the history. */
    put_market(f, 60, 4);
    assert_int_equal(results_fill_top(f->os, f->bs, 3, 0, &st, &d), ERR_OK);
    assert_int_equal(st.dates_missing, 4);
    assert_int_equal(st.dates_added, 4);
    assert_int_equal(st.passes, 1);
    assert_int_equal(st.days_read, 64); /* a window of 180 calendar days holds all of them */
    assert_history_is_the_screen(f);
    /* Damaged (cut in the middle of a row): put aside and filled again from the bars. */
    char *text = get_text(f->os, RESULTS_TOP_KEY, NULL);
    size_t cut = strlen(text) / 2;
    assert_int_equal(objstore_put(f->os, RESULTS_TOP_KEY, text, cut, OBJ_PUT_ALWAYS, NULL, &d),
                     ERR_OK);
    assert_int_equal(results_fill_top(f->os, f->bs, 3, 0, &st, &d), ERR_OK);
    assert_int_equal(st.dates_missing, 35);
    assert_int_equal(st.dates_added, 35);
    assert_history_is_the_screen(f);
    char *again = get_text(f->os, RESULTS_TOP_KEY, NULL);
    assert_string_equal(again, text);
    free(again);
    struct strvec keys = STRVEC_INIT;
    assert_int_equal(objstore_list(f->os, "results/damaged/", &keys, &d), ERR_OK);
    assert_int_equal(keys.n, 1);
    char *kept = get_text(f->os, keys.v[0], NULL);
    assert_int_equal(strlen(kept), cut);
    assert_memory_equal(kept, text, cut);
    free(kept);
    strvec_release(&keys);
    free(text);
}

/* The newest date's results as a collection (or an import) writes them, and the check that
 * tells an import whether they are there. */
static void test_newest_results(void **state)
{
    struct fixture *f = *state;
    struct diag d;
    struct results_newest nw;
    int current = -1;
    /* Nothing stored: nothing screened, nothing written. */
    assert_int_equal(results_write_newest(f->os, f->bs, &nw, &d), ERR_OK);
    assert_int_equal(nw.date, 0);
    assert_null(nw.rows);
    assert_int_equal(results_newest_current(f->os, day_of("2024-01-02"), &current, &d), ERR_OK);
    assert_false(current);
    put_market(f, 0, 60);
    int32_t first, last;
    assert_int_equal(barstore_date_range(f->bs, &first, &last, NULL, &d), ERR_OK);
    assert_int_equal(results_newest_current(f->os, last, &current, &d), ERR_OK);
    assert_false(current);
    assert_int_equal(results_write_newest(f->os, f->bs, &nw, &d), ERR_OK);
    assert_int_equal(nw.date, last);
    assert_true(nw.n > 0);
    /* The same rows as the screen's, in the dated file, latest.csv and the history. */
    struct results_screen s = {0};
    assert_int_equal(results_read_screen(f->os, 0, &s, &d), ERR_OK);
    assert_int_equal(s.date, last);
    assert_int_equal(s.n, nw.n);
    for (size_t i = 0; i < s.n; i++) { /* the file's numbers have 4 decimals */
        assert_int_equal(s.rows[i].rank, nw.rows[i].rank);
        assert_string_equal(s.rows[i].symbol, nw.rows[i].symbol);
    }
    results_screen_release(&s);
    assert_int_equal(results_read_screen(f->os, last, &s, &d), ERR_OK);
    assert_int_equal(s.n, nw.n);
    results_screen_release(&s);
    struct results_history h = {0};
    assert_int_equal(results_read_top(f->os, &h, &d), ERR_OK);
    assert_true(h.n > 0 && h.n <= RESULTS_TOP_DEFAULT);
    assert_int_equal(h.rows[0].date, last);
    results_history_release(&h);
    free(nw.rows);
    assert_int_equal(results_newest_current(f->os, last, &current, &d), ERR_OK);
    assert_true(current);
    /* A newer stored date: latest.csv is older than the store. */
    assert_int_equal(results_newest_current(f->os, last + 1, &current, &d), ERR_OK);
    assert_false(current);
    /* Each file missing, or latest.csv unreadable: not current. */
    static const char *const keys[] = {RESULTS_CLOSES_KEY, RESULTS_BARS1Y_KEY, RESULTS_LATEST_KEY};
    for (size_t i = 0; i < 3; i++) {
        char *text = get_text(f->os, keys[i], NULL);
        assert_int_equal(objstore_del(f->os, keys[i], &d), ERR_OK);
        assert_int_equal(results_newest_current(f->os, last, &current, &d), ERR_OK);
        assert_false(current);
        assert_int_equal(objstore_put(f->os, keys[i], text, strlen(text), OBJ_PUT_ALWAYS, NULL, &d),
                         ERR_OK);
        assert_int_equal(results_newest_current(f->os, last, &current, &d), ERR_OK);
        assert_true(current);
        free(text);
    }
    char key[OBJ_KEY_MAX];
    results_screen_key(last, key);
    assert_int_equal(objstore_del(f->os, key, &d), ERR_OK);
    assert_int_equal(results_newest_current(f->os, last, &current, &d), ERR_OK);
    assert_false(current);
    assert_int_equal(
        objstore_put(f->os, RESULTS_LATEST_KEY, "date,rank\n1", 11, OBJ_PUT_ALWAYS, NULL, &d),
        ERR_OK);
    assert_int_equal(results_write_newest(f->os, f->bs, &nw, &d), ERR_OK);
    free(nw.rows);
    assert_int_equal(results_newest_current(f->os, last, &current, &d), ERR_OK);
    assert_true(current);
}

static void test_fill_history_gaps(void **state)
{
    struct fixture *f = *state;
    struct diag d;
    struct results_fill_stats st;
    /* 400 days; the history has only the newest date, as the daily run left it before. */
    put_market(f, 0, 400);
    struct screen_row r = row("2025-02-03", 1, "ZZZ", 1.0, NAN); /* day 399 */
    assert_int_equal(results_append_top(f->os, r.date, &r, 1, 3, &d), ERR_OK);
    assert_int_equal(results_fill_top(f->os, f->bs, 3, 0, &st, &d), ERR_OK);
    assert_int_equal(st.dates_missing, 400 - 29 - 1);
    assert_int_equal(st.passes, 1);
    /* The row already there is kept as it was: dates in the history are not screened again. */
    struct results_history h;
    assert_int_equal(results_read_top(f->os, &h, &d), ERR_OK);
    assert_string_equal(h.rows[h.n - 1].symbol, "ZZZ");
    assert_int_equal(h.n, 3 * (400 - 29 - 1) + 1);
    results_history_release(&h);

    /* Two holes far apart (more than the window between them): two passes, each reading
     * its own window only. */
    char *text = get_text(f->os, RESULTS_TOP_KEY, NULL);
    struct buf b = BUF_INIT((size_t)64 << 20);
    char d1[DATE_STRLEN + 1], d2[DATE_STRLEN + 1];
    date_format(day_of("2024-01-01") + 40, d1);
    date_format(day_of("2024-01-01") + 380, d2);
    for (char *line = text; *line;) {
        char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line + 1) : strlen(line);
        if (strncmp(line, d1, DATE_STRLEN) != 0 && strncmp(line, d2, DATE_STRLEN) != 0)
            buf_append(&b, line, len);
        line += len;
    }
    assert_int_equal(objstore_put(f->os, RESULTS_TOP_KEY, b.data, b.len, OBJ_PUT_ALWAYS, NULL, &d),
                     ERR_OK);
    assert_int_equal(results_fill_top(f->os, f->bs, 3, 0, &st, &d), ERR_OK);
    assert_int_equal(st.dates_missing, 2);
    assert_int_equal(st.dates_added, 2);
    assert_int_equal(st.passes, 2);
    assert_true(st.days_read < 2 * 181);
    char *again = get_text(f->os, RESULTS_TOP_KEY, NULL);
    assert_string_equal(again, text);
    free(again);
    free(text);
    buf_release(&b);
}

/* A clock that moves 1 ms each time it is read. */
static int64_t ticking_now = 1000000;
static int64_t ticking_wall(void *ctx)
{
    (void)ctx;
    return ticking_now++;
}

static int64_t ticking_mono_us(void *ctx)
{
    (void)ctx;
    return ticking_now * 1000;
}

static void ticking_sleep(void *ctx, int64_t ms)
{
    (void)ctx;
    ticking_now += ms;
}

static void test_fill_history_deadline(void **state)
{
    struct fixture *f = *state;
    struct diag d;
    struct results_fill_stats st;
    put_market(f, 0, 100);
    struct clock_source src = {ticking_wall, ticking_mono_us, ticking_sleep, NULL};
    clock_set_source(&src);
    /* Past the deadline: nothing is screened, nothing is lost, the next call does it. */
    assert_int_equal(results_fill_top(f->os, f->bs, 3, ticking_now - 1, &st, &d), ERR_OK);
    assert_false(st.complete);
    assert_int_equal(st.dates_added, 0);
    struct buf none = BUF_INIT(1 << 20);
    assert_int_equal(objstore_get(f->os, RESULTS_TOP_KEY, &none, NULL, &d), ERR_NOTFOUND);
    buf_release(&none);
    /* Ten dates' time: ten dates are written. */
    assert_int_equal(results_fill_top(f->os, f->bs, 3, ticking_now + 10, &st, &d), ERR_OK);
    assert_false(st.complete);
    assert_true(st.dates_added >= 1 && st.dates_added <= 10);
    size_t first = st.dates_added;
    clock_set_source(NULL);
    assert_int_equal(results_fill_top(f->os, f->bs, 3, 0, &st, &d), ERR_OK);
    assert_true(st.complete);
    assert_int_equal(st.dates_added, 71 - first);
    assert_history_is_the_screen(f);
}

static void test_fill_history_concurrent_writer(void **state)
{
    struct fixture *f = *state;
    struct diag d;
    put_market(f, 0, 40);
    /* Another writer adds a date just before each of the first two puts. */
    struct racer r = {.base = {.ops = &racer_ops, .location = "racer"},
                      .inner = f->os,
                      .race_key = RESULTS_TOP_KEY,
                      .races = 2};
    struct results_fill_stats st;
    assert_int_equal(results_fill_top(&r.base, f->bs, 3, 0, &st, &d), ERR_OK);
    assert_int_equal(r.raced, 2);
    struct results_history h;
    assert_int_equal(results_read_top(f->os, &h, &d), ERR_OK);
    assert_int_equal(h.n, 3 * 11 + 1); /* the other writer's last date is kept */
    assert_string_equal(h.rows[h.n - 1].symbol, "RACE");
    results_history_release(&h);
}

static void test_exports_of_an_empty_store(void **state)
{
    struct fixture *f = *state;
    struct diag d;
    assert_int_equal(results_write_exports(f->os, f->bs, day_of("2024-06-28"), &d), ERR_OK);
    char *text = get_text(f->os, RESULTS_CLOSES_KEY, NULL);
    assert_string_equal(text, "symbol,date,closes\n");
    free(text);
    text = get_text(f->os, RESULTS_BARS1Y_KEY, NULL);
    assert_string_equal(text, BARCSV_HEADER);
    free(text);
    struct results_closes c;
    assert_int_equal(results_read_closes(f->os, "AAA", &c, &d), ERR_NOTFOUND);
}

static void test_closes_malformed(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int err;
        const char *where;
    } cases[] = {
        {"", ERR_PARSE, "c.csv: empty file"},
        {"symbol,day,closes\n", ERR_PARSE, "c.csv:1: header: column 2: expected 'date'"},
        {"symbol,date,closes\nAAA,2024-01-02\n", ERR_PARSE, "c.csv:2: expected 3 fields"},
        {"symbol,date,closes\naa a,2024-01-02,1\n", ERR_INVALID, "c.csv:2: field 'symbol'"},
        {"symbol,date,closes\nBBB,2024-01-02,1\nAAA,2024-01-02,1\n", ERR_INVALID,
         "c.csv:3: field 'symbol': expected symbols in ascending order"},
        {"symbol,date,closes\nAAA,2024-01-02,1\nAAA,2024-01-02,1\n", ERR_INVALID,
         "c.csv:3: field 'symbol'"},
        {"symbol,date,closes\nAAA,2024-02-30,1\n", ERR_PARSE, "c.csv:2: field 'date'"},
        {"symbol,date,closes\nAAA,2024-01-02,\n", ERR_PARSE,
         "c.csv:2: field 'closes': expected close 1"},
        {"symbol,date,closes\nAAA,2024-01-02,1;2;x\n", ERR_PARSE,
         "c.csv:2: field 'closes': expected close 3: a price, 0 or more, got 'x'"},
        {"symbol,date,closes\nAAA,2024-01-02,1;;2\n", ERR_PARSE,
         "c.csv:2: field 'closes': expected close 2"},
        {"symbol,date,closes\nAAA,2024-01-02,1;-2\n", ERR_INVALID,
         "c.csv:2: field 'closes': expected close 2"},
        {"symbol,date,closes\nAAA,2024-01-02,1;\n", ERR_PARSE,
         "c.csv:2: field 'closes': expected close 2"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct results_closes c;
        struct diag d;
        diag_clear(&d);
        int err = results_parse_closes("c.csv", cases[i].text, strlen(cases[i].text), NULL, &c, &d);
        if (err != cases[i].err || !strstr(d.text, cases[i].where))
            fail_msg("case %zu: got %s '%s', want %s with '%s'", i, err_name(err), d.text,
                     err_name(cases[i].err), cases[i].where);
    }
    /* Looking a symbol up reads its row in full and passes the others over. */
    static const char lookup[] = "symbol,date,closes\nAA,2024-01-02,x\nAAA,2024-01-02,1;2\n"
                                 "AAAB,2024-01-02,y\n";
    struct results_closes c;
    struct diag d;
    assert_int_equal(results_parse_closes("c.csv", lookup, sizeof lookup - 1, "AAA", &c, &d),
                     ERR_OK);
    assert_int_equal(c.n, 2);
    assert_int_equal(results_parse_closes("c.csv", lookup, sizeof lookup - 1, "AA", &c, &d),
                     ERR_PARSE);
    assert_non_null(strstr(d.text, "c.csv:2: field 'closes'"));
    assert_int_equal(results_parse_closes("c.csv", lookup, sizeof lookup - 1, "ZZZ", &c, &d),
                     ERR_NOTFOUND);
    /* 61 closes are one too many; the symbol is found only in a sound file. */
    struct buf b = BUF_INIT(1 << 20);
    buf_puts(&b, "symbol,date,closes\nAAA,2024-01-02,1");
    for (int i = 1; i < RESULTS_CLOSES; i++)
        buf_puts(&b, ";1");
    buf_puts(&b, "\nBBB,2024-01-02,2\n");
    assert_int_equal(results_parse_closes("c.csv", b.data, b.len, "BBB", &c, &d), ERR_OK);
    assert_int_equal(c.n, 1);
    assert_true(c.closes[0] == 2.0);
    assert_int_equal(results_parse_closes("c.csv", b.data, b.len, "AAA", &c, &d), ERR_OK);
    assert_int_equal(c.n, RESULTS_CLOSES);
    buf_reset(&b);
    buf_puts(&b, "symbol,date,closes\nAAA,2024-01-02,1");
    for (int i = 0; i < RESULTS_CLOSES; i++)
        buf_puts(&b, ";1");
    buf_puts(&b, "\n");
    assert_int_equal(results_parse_closes("c.csv", b.data, b.len, "AAA", &c, &d), ERR_INVALID);
    assert_non_null(strstr(d.text, "c.csv:2: field 'closes': expected at most 60 closes"));
    buf_release(&b);
}

/* ---- the run record ---- */

static void test_run_round_trip(void **state)
{
    struct fixture *f = *state;
    struct diag d;
    struct results_run r, back;
    assert_int_equal(results_read_run(f->os, &back, &d), ERR_NOTFOUND);
    memset(&r, 0, sizeof r);
    r.finished_ms = 1795633191750;
    r.date = day_of("2026-11-20");
    r.end = day_of("2026-11-20");
    r.complete = 1;
    r.symbols = 1000;
    r.symbols_fetched = 998;
    r.symbols_failed = 2;
    r.bars_new = 123456789012ULL;
    r.requests = 3;
    r.retries = 4;
    r.errors = 5;
    r.duration_ms = 812;
    r.final_day = day_of("2026-11-19");
    r.bars_revised = 17;
    assert_int_equal(results_write_run(f->os, &r, &d), ERR_OK);
    assert_int_equal(results_read_run(f->os, &back, &d), ERR_OK);
    assert_memory_equal(&r, &back, sizeof r);
    /* The results of 2026-11-20 were built on bars fetched before their settle time. */
    assert_true(results_run_provisional(&back, day_of("2026-11-20")));
    assert_false(results_run_provisional(&back, day_of("2026-11-19")));
    /* A later date came from elsewhere since (an import: its bars are final). */
    assert_false(results_run_provisional(&back, day_of("2026-11-23")));
    char *rec = get_text(f->os, RESULTS_RUN_KEY, NULL);
    assert_non_null(strstr(rec, "\"final_day\":\"2026-11-19\",\"bars_revised\":17"));
    free(rec);
    char *text = get_text(f->os, RESULTS_RUN_KEY, NULL);
    assert_non_null(strstr(text, "\"finished\":\"2026-11-25T18:59:51.750Z\""));
    free(text);

    /* A failed run: no date, an error with quotes, a newline and a stray high byte. */
    r.date = 0;
    r.complete = 0;
    snprintf(r.error, sizeof r.error, "HTTP 403 from \"x\":\nrefused \xff");
    assert_int_equal(results_write_run(f->os, &r, &d), ERR_OK);
    assert_int_equal(results_read_run(f->os, &back, &d), ERR_OK);
    assert_int_equal(back.date, 0);
    assert_int_equal(back.complete, 0);
    assert_string_equal(back.error, "HTTP 403 from \"x\":\nrefused ?");
}

static void test_run_malformed(void **state)
{
    (void)state;
    static const char good[] =
        "{\"finished_ms\":1,\"date\":\"2026-11-20\",\"end\":null,\"complete\":false,"
        "\"symbols\":1,\"symbols_fetched\":1,\"symbols_failed\":0,\"bars_new\":0,"
        "\"requests\":0,\"retries\":0,\"errors\":0,\"duration_ms\":0,\"error\":\"\","
        "\"added_later\":[1]}";
    struct results_run r;
    struct diag d;
    assert_int_equal(results_parse_run("run.json", good, strlen(good), &r, &d), ERR_OK);
    assert_int_equal(r.end, 0);

    static const struct {
        const char *text;
        int err;
        const char *where;
    } cases[] = {
        {"", ERR_PARSE, "run.json"},
        {"{\"finished_ms\":1,", ERR_PARSE, "run.json"},
        {"[1,2]", ERR_INVALID, "run.json: expected an object, got array"},
        {"{}", ERR_INVALID, "run.json: member 'finished_ms' is missing"},
        {"{\"finished_ms\":\"1\"}", ERR_INVALID,
         "run.json: member 'finished_ms' is string, expected number"},
        {"{\"finished_ms\":1.5}", ERR_INVALID, "run.json: member 'finished_ms': expected a whole"},
        {"{\"finished_ms\":-1}", ERR_INVALID, "run.json: member 'finished_ms': expected a whole"},
        {"{\"finished_ms\":1,\"date\":\"2026-13-01\"}", ERR_INVALID,
         "run.json: member 'date': expected a date YYYY-MM-DD or null, got '2026-13-01'"},
        {"{\"finished_ms\":1,\"date\":20261120}", ERR_INVALID,
         "run.json: member 'date' is number, expected string"},
        {"{\"finished_ms\":1,\"date\":null,\"end\":null,\"complete\":1}", ERR_INVALID,
         "run.json: member 'complete' is number, expected boolean"},
        {"{\"finished_ms\":1,\"date\":null,\"end\":null,\"complete\":true,\"symbols\":1,"
         "\"symbols_fetched\":1,\"symbols_failed\":0,\"bars_new\":0,\"requests\":0,"
         "\"retries\":0,\"errors\":0,\"duration_ms\":0}",
         ERR_INVALID, "run.json: member 'error' is missing"},
        {"{\"finished_ms\":1,\"date\":null,\"end\":null,\"complete\":true,\"symbols\":1,"
         "\"symbols_fetched\":1,\"symbols_failed\":0,\"bars_new\":0,\"requests\":0,"
         "\"retries\":0,\"errors\":0,\"duration_ms\":0,\"error\":null}",
         ERR_INVALID, "run.json: member 'error' is null, expected string"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        diag_clear(&d);
        int err = results_parse_run("run.json", cases[i].text, strlen(cases[i].text), &r, &d);
        if (err != cases[i].err || !strstr(d.text, cases[i].where))
            fail_msg("case %zu: got %s '%s', want %s with '%s'", i, err_name(err), d.text,
                     err_name(cases[i].err), cases[i].where);
    }
    /* An error text longer than the record holds. */
    struct buf b = BUF_INIT(1 << 20);
    buf_puts(&b, good);
    b.len -= strlen("\"error\":\"\",\"added_later\":[1]}");
    buf_puts(&b, "\"error\":\"");
    for (int i = 0; i < 300; i++)
        buf_putc(&b, 'x');
    buf_puts(&b, "\"}");
    assert_int_equal(results_parse_run("run.json", b.data, b.len, &r, &d), ERR_INVALID);
    assert_non_null(strstr(d.text, "member 'error': expected at most 255 bytes, got 300"));
    buf_release(&b);
}

/* An objstore that notes, in order, which thread each request came from (a request from any
 * thread but the one that made it counts as "other") and whether it was a write. */
struct threads {
    struct objstore base;
    struct objstore *inner;
    pthread_t owner;
    pthread_mutex_t mu;
    size_t other_after_write; /* requests from another thread after this thread's first write */
    size_t writes;
};

static void threads_note(struct objstore *os, int write)
{
    struct threads *t = (struct threads *)os;
    pthread_mutex_lock(&t->mu);
    int mine = pthread_equal(t->owner, pthread_self());
    if (!mine && t->writes)
        t->other_after_write++;
    if (mine && write)
        t->writes++;
    pthread_mutex_unlock(&t->mu);
}

static int threads_get(struct objstore *os, const char *key, struct buf *out, char *etag,
                       struct diag *d)
{
    threads_note(os, 0);
    return objstore_get(((struct threads *)os)->inner, key, out, etag, d);
}

static int threads_put(struct objstore *os, const char *key, const void *data, size_t len,
                       enum obj_put_mode mode, const char *if_match, struct diag *d)
{
    threads_note(os, 1);
    return objstore_put(((struct threads *)os)->inner, key, data, len, mode, if_match, d);
}

static int threads_list(struct objstore *os, const char *prefix, struct strvec *keys,
                        struct diag *d)
{
    threads_note(os, 0);
    return objstore_list(((struct threads *)os)->inner, prefix, keys, d);
}

static int threads_del(struct objstore *os, const char *key, struct diag *d)
{
    threads_note(os, 1);
    return objstore_del(((struct threads *)os)->inner, key, d);
}

static void threads_free(struct objstore *os)
{
    (void)os; /* the inner store belongs to the fixture */
}

static const struct objstore_ops threads_ops = {
    .scheme = "threads",
    .get = threads_get,
    .put = threads_put,
    .list = threads_list,
    .del = threads_del,
    .free = threads_free,
};

/* Rewriting results writes each date as it is screened: the store must not be read on another
 * thread meanwhile (an objstore, S3's client above all, is not safe to share between threads;
 * two demos at once into S3 crashed).  80 days of bars, results for the last 50 of them: a
 * scan read ahead on a second thread would still be reading when the first date is written. */
static void test_rewrite_uses_the_store_on_one_thread(void **state)
{
    struct fixture *f = *state;
    struct diag d;
    struct barvec bv;
    barvec_init(&bv);
    int32_t dates[80];
    size_t nd = 0;
    for (int32_t t = day_of("2024-01-01"); nd < 80; t++) {
        if (date_weekday(t) == 0 || date_weekday(t) == 6)
            continue;
        char day[DATE_STRLEN + 1];
        date_format(t, day);
        double p = 100.0 + (double)(nd % 9);
        struct bar a = tu_bar("AAA", day, p, p + 1, p - 1, p, 1000);
        struct bar b = tu_bar("BBB", day, p / 2, p / 2 + 1, p / 2 - 1, p / 2, 500);
        barvec_push(&bv, &a);
        barvec_push(&bv, &b);
        dates[nd++] = t;
    }
    put_bars(f, &bv);
    barvec_release(&bv);
    for (size_t i = 30; i < nd; i++) {
        char day[DATE_STRLEN + 1];
        date_format(dates[i], day);
        struct screen_row r = row(day, 1, "AAA", 100, 0);
        assert_int_equal(results_write_screen(f->os, dates[i], &r, 1, 0, &d), ERR_OK);
    }

    struct threads t = {.base = {&threads_ops}, .inner = f->os, .owner = pthread_self()};
    pthread_mutex_init(&t.mu, NULL);
    struct barstore *bs;
    assert_int_equal(barstore_new(&t.base, &bs, &d), ERR_OK);
    struct screen_opts so;
    screen_opts_default(&so);
    size_t rewritten = 0;
    assert_int_equal(
        results_rewrite(&t.base, bs, &so, dates[30], dates[nd - 1], 10, &rewritten, &d), ERR_OK);
    assert_int_equal(rewritten, nd - 30);
    assert_true(t.writes >= nd - 30);
    if (t.other_after_write)
        fail_msg("%zu requests came from another thread after the rewrite began writing",
                 t.other_after_write);
    barstore_free(bs);
    objstore_free(&t.base); /* what the store held for its reads; the inner store stays */
    pthread_mutex_destroy(&t.mu);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_screen_key),
        cmocka_unit_test_setup_teardown(test_screen_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_screen_checks_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_latest_never_goes_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_history_merge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_history_concurrent_writer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_day_concurrent_writer, setup, teardown),
        cmocka_unit_test(test_screen_malformed),
        cmocka_unit_test(test_history_malformed),
        cmocka_unit_test_setup_teardown(test_stored_garbage_is_reported, setup, teardown),
        cmocka_unit_test_setup_teardown(test_closes_across_a_split, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rewrite_uses_the_store_on_one_thread, setup, teardown),
        cmocka_unit_test_setup_teardown(test_closes_match_the_screen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exports_of_an_empty_store, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fill_history_from_day_one, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fill_history_gaps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_newest_results, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fill_history_deadline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fill_history_concurrent_writer, setup, teardown),
        cmocka_unit_test(test_closes_malformed),
        cmocka_unit_test_setup_teardown(test_run_round_trip, setup, teardown),
        cmocka_unit_test(test_run_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
