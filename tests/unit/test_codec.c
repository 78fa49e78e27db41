/* Unit tests: CSV tokenizer, exact decimals, bar CSV, split CSV, hex digits, secret
 * comparison, Alpaca's auth headers. */
#include "testutil.h"

#include "base/buf.h"
#include "base/date.h"
#include "codec/alpaca_auth.h"
#include "codec/bar.h"
#include "codec/barcsv.h"
#include "codec/crypto.h"
#include "codec/csv.h"
#include "codec/num.h"
#include "codec/split.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Tokenize text (copied, since fields are unescaped in place) into "a|b|c;" form. */
static char *tokens(const char *text, int *err_out)
{
    size_t n = strlen(text);
    char *data = malloc(n + 1);
    memcpy(data, text, n + 1);
    struct csv_reader r;
    csv_reader_init(&r, data, n);
    struct buf out = BUF_INIT(1 << 16);
    struct csv_field f[8];
    size_t nf;
    struct diag d;
    int err;
    while ((err = csv_next(&r, f, 8, &nf, &d)) == ERR_OK) {
        for (size_t i = 0; i < nf; i++) {
            if (i)
                buf_putc(&out, '|');
            buf_append(&out, f[i].ptr, f[i].len);
        }
        buf_printf(&out, "@%zu;", r.line);
    }
    *err_out = err;
    free(data);
    size_t len;
    return buf_detach(&out, &len);
}

static void test_csv_basic(void **state)
{
    (void)state;
    int err;
    char *t = tokens("a,b,c\n1,,3\r\n\n\"x,y\",\"he said \"\"hi\"\"\",z\n", &err);
    assert_int_equal(err, ERR_EOF);
    assert_string_equal(t, "a|b|c@1;1||3@2;x,y|he said \"hi\"|z@4;");
    free(t);
    /* Quoted newline: the record spans lines and the next record's line is right. */
    t = tokens("\"multi\nline\",2\nnext,3", &err);
    assert_int_equal(err, ERR_EOF);
    assert_string_equal(t, "multi\nline|2@1;next|3@3;");
    free(t);
    /* A lone trailing comma is an empty last field. */
    t = tokens("a,\n", &err);
    assert_string_equal(t, "a|@1;");
    free(t);
}

static void test_csv_errors(void **state)
{
    (void)state;
    char data[] = "ok,1\n\"unterminated,2\n";
    struct csv_reader r;
    csv_reader_init(&r, data, sizeof data - 1);
    struct csv_field f[4];
    size_t n;
    struct diag d;
    assert_int_equal(csv_next(&r, f, 4, &n, &d), ERR_OK);
    assert_int_equal(csv_next(&r, f, 4, &n, &d), ERR_PARSE);
    assert_string_equal(d.text, "line 2: unterminated quoted field");
    assert_int_equal(csv_next(&r, f, 4, &n, &d), ERR_EOF);

    char data2[] = "\"a\"x,1\nb,2\n1,2,3,4,5\nc,3\n";
    csv_reader_init(&r, data2, sizeof data2 - 1);
    assert_int_equal(csv_next(&r, f, 4, &n, &d), ERR_PARSE);
    assert_string_equal(d.text, "line 1: unexpected character after closing quote");
    assert_int_equal(csv_next(&r, f, 4, &n, &d), ERR_OK); /* goes on with the next line */
    assert_int_equal(n, 2);
    assert_int_equal(csv_next(&r, f, 4, &n, &d), ERR_TOOBIG);
    assert_string_equal(d.text, "line 3: more than 4 fields");
    assert_int_equal(csv_next(&r, f, 4, &n, &d), ERR_OK);
    assert_int_equal(f[0].ptr[0], 'c');

    /* A broken record whose quoted field spans lines is skipped whole: the text inside the
     * quotes never comes back as a record of its own. */
    char data3[] = "\"a\"x,\"memo\nB,2024-01-02\nend\"\nC,3\n";
    csv_reader_init(&r, data3, sizeof data3 - 1);
    assert_int_equal(csv_next(&r, f, 4, &n, &d), ERR_PARSE);
    assert_string_equal(d.text, "line 1: unexpected character after closing quote");
    assert_int_equal(csv_next(&r, f, 4, &n, &d), ERR_OK);
    assert_int_equal(n, 2);
    assert_int_equal(f[0].ptr[0], 'C');
    assert_int_equal(r.line, 4);

    /* A quote that is never closed costs its own line, not every record after it: reading
     * goes on with the next line, whose doubled quotes were not unescaped in place. */
    char data4[] = "a,1\n\"b,2\nc,\"\"\"\"\n\nd,4\n";
    csv_reader_init(&r, data4, sizeof data4 - 1);
    assert_int_equal(csv_next(&r, f, 4, &n, &d), ERR_OK);
    assert_int_equal(csv_next(&r, f, 4, &n, &d), ERR_PARSE);
    assert_string_equal(d.text, "line 2: unterminated quoted field");
    assert_int_equal(csv_next(&r, f, 4, &n, &d), ERR_OK);
    assert_int_equal(r.line, 3);
    assert_int_equal(n, 2);
    assert_int_equal(f[1].len, 1);
    assert_int_equal(f[1].ptr[0], '"');
    assert_int_equal(csv_next(&r, f, 4, &n, &d), ERR_OK);
    assert_int_equal(r.line, 5);
    assert_int_equal(f[0].ptr[0], 'd');
    assert_int_equal(csv_next(&r, f, 4, &n, &d), ERR_EOF);

    /* The same when the quote opens after a closing one (a record already broken). */
    char data5[] = "\"a\"x,\"memo\nB,2\n";
    csv_reader_init(&r, data5, sizeof data5 - 1);
    assert_int_equal(csv_next(&r, f, 4, &n, &d), ERR_PARSE);
    assert_string_equal(d.text, "line 1: unexpected character after closing quote");
    assert_int_equal(csv_next(&r, f, 4, &n, &d), ERR_OK);
    assert_int_equal(r.line, 2);
    assert_int_equal(f[0].ptr[0], 'B');
    assert_int_equal(csv_next(&r, f, 4, &n, &d), ERR_EOF);
}

static void test_num_fixed(void **state)
{
    (void)state;
    int64_t v;
    assert_int_equal(num_parse_fixed("187.15", 6, &v), ERR_OK);
    assert_int_equal(v, 187150000);
    assert_int_equal(num_parse_fixed("0.000001", 8, &v), ERR_OK);
    assert_int_equal(v, 1);
    assert_int_equal(num_parse_fixed("-3", 2, &v), ERR_OK);
    assert_int_equal(v, -3000000);
    assert_int_equal(num_parse_fixed(".5", 2, &v), ERR_OK);
    assert_int_equal(v, 500000);
    assert_int_equal(num_parse_fixed("5.", 2, &v), ERR_OK);
    assert_int_equal(v, 5000000);
    /* More than six decimals round half away from zero, carrying into the integer part. */
    assert_int_equal(num_parse_fixed("1.2345675", 9, &v), ERR_OK);
    assert_int_equal(v, 1234568);
    assert_int_equal(num_parse_fixed("0.9999995", 9, &v), ERR_OK);
    assert_int_equal(v, 1000000);
    assert_int_equal(num_parse_fixed("1.2345674999", 12, &v), ERR_OK);
    assert_int_equal(v, 1234567);
    assert_int_equal(num_parse_fixed("", 0, &v), ERR_PARSE);
    assert_int_equal(num_parse_fixed(".", 1, &v), ERR_PARSE);
    assert_int_equal(num_parse_fixed("1e5", 3, &v), ERR_PARSE);
    assert_int_equal(num_parse_fixed("12a", 3, &v), ERR_PARSE);
    assert_int_equal(num_parse_fixed(" 1", 2, &v), ERR_PARSE);
    assert_int_equal(num_parse_fixed("99999999999999999", 17, &v), ERR_INVALID);

    char s[NUM_FIXED_STRMAX];
    const int64_t cases[] = {187150000,       1,         0,         -3000000, 100000000,
                             123456789012345, INT64_MAX, -INT64_MAX};
    const char *want[] = {"187.15",
                          "0.000001",
                          "0",
                          "-3",
                          "100",
                          "123456789.012345",
                          "9223372036854.775807",
                          "-9223372036854.775807"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = num_format_fixed(cases[i], s);
        assert_string_equal(s, want[i]);
        assert_int_equal(num_parse_fixed(s, n, &v), ERR_OK);
        assert_int_equal(v, cases[i]);
    }
}

static void test_num_int(void **state)
{
    (void)state;
    int64_t v;
    assert_int_equal(num_parse_int("82488674", 8, &v), ERR_OK);
    assert_int_equal(v, 82488674);
    assert_int_equal(num_parse_int("1200.000", 8, &v), ERR_OK);
    assert_int_equal(v, 1200);
    assert_int_equal(num_parse_int("1200.5", 6, &v), ERR_INVALID);
    assert_int_equal(num_parse_int("9223372036854775807", 19, &v), ERR_OK);
    assert_int_equal(v, INT64_MAX);
    assert_int_equal(num_parse_int("9223372036854775808", 19, &v), ERR_INVALID);
    assert_int_equal(num_parse_int("x", 1, &v), ERR_PARSE);
    char s[24];
    num_format_int(-42, s);
    assert_string_equal(s, "-42");
}

/* The formatters against printf, on every number of digits and on random values: the same text
 * (the fixed-point one with the fewest decimals that keep the value). */
static void test_num_format_as_printf(void **state)
{
    (void)state;
    int64_t vals[4096];
    size_t n = 0;
    vals[n++] = INT64_MIN + 1;
    vals[n++] = INT64_MAX;
    vals[n++] = 0;
    for (int64_t p = 1; n + 6 <= 120; p *= 10) { /* each power of ten, beside it and negated */
        vals[n++] = p;
        vals[n++] = p - 1;
        vals[n++] = -p;
        vals[n++] = p + 1;
        vals[n++] = -(p - 1);
        vals[n++] = p * 5 + 50;
        if (p > INT64_MAX / 10)
            break;
    }
    uint64_t x = 0x9e3779b97f4a7c15u;
    while (n < sizeof vals / sizeof vals[0]) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int shift = (int)(x % 60); /* values of every size */
        int64_t v = (int64_t)((x >> 3) >> shift);
        vals[n++] = (x & 4) ? -v : v;
    }
    for (size_t i = 0; i < n; i++) {
        int64_t v = vals[i];
        uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
        char want[64], got[NUM_FIXED_STRMAX], goti[24];
        snprintf(want, sizeof want, "%s%llu", v < 0 ? "-" : "", (unsigned long long)u);
        assert_int_equal(num_format_int(v, goti), strlen(want));
        assert_string_equal(goti, want);
        int len = snprintf(want, sizeof want, "%s%llu.%06llu", v < 0 ? "-" : "",
                           (unsigned long long)(u / NUM_FIXED_SCALE),
                           (unsigned long long)(u % NUM_FIXED_SCALE));
        while (want[len - 1] == '0')
            want[--len] = '\0';
        if (want[len - 1] == '.')
            want[--len] = '\0';
        assert_int_equal(num_format_fixed(v, got), (size_t)len);
        assert_string_equal(got, want);
    }
}

/* num_format_4dp is printf's "%.4f" of the value in units, or declines (0): never another
 * text.  Ties and their neighbours, every number of digits, random prices. */
static void test_num_format_4dp_as_printf(void **state)
{
    (void)state;
    uint64_t x = 0x2545f4914f6cdd1du;
    size_t declined = 0, made = 0;
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int64_t v;
        if (i < 1000)
            v = (int64_t)i * 50 + (i % 3) - 1; /* ties at 50 and beside them */
        else if (i < 1100)
            v = (int64_t)((x >> 4) % 1000000000000000u); /* up to the limit */
        else
            v = (int64_t)((x >> 3) % ((uint64_t)1 << (i % 52 + 1)));
        if (i % 7 == 0)
            v = -v;
        char got[NUM_FIXED_STRMAX], want[64];
        size_t n = num_format_4dp(v, got);
        if (!n) {
            declined++;
            assert_true(v < 0 || v >= 1000000000000000 || v % 100 == 50);
            continue;
        }
        made++;
        snprintf(want, sizeof want, "%.4f", (double)v / (double)NUM_FIXED_SCALE);
        assert_int_equal(n, strlen(want));
        assert_string_equal(got, want);
    }
    assert_true(made > declined);
    char s[NUM_FIXED_STRMAX];
    assert_int_equal(num_format_4dp(187150000, s), 8);
    assert_string_equal(s, "187.1500");
    assert_int_equal(num_format_4dp(1234549, s), 6);
    assert_string_equal(s, "1.2345");
    assert_int_equal(num_format_4dp(1234551, s), 6);
    assert_string_equal(s, "1.2346");
    assert_int_equal(num_format_4dp(1234550, s), 0);
}

static void test_symbols(void **state)
{
    (void)state;
    assert_true(bar_symbol_valid("BRK.B", 5));
    assert_true(bar_symbol_valid("A", 1));
    assert_true(bar_symbol_valid("BF-B", 4));
    assert_false(bar_symbol_valid("", 0));
    assert_false(bar_symbol_valid(".A", 2));
    assert_false(bar_symbol_valid("aapl", 4));
    assert_false(bar_symbol_valid("A,B", 3));
    assert_false(bar_symbol_valid("ABCDEFGHIJKLMNOP", 16));
}

struct read_result {
    int errs[16];
    char msgs[16][DIAG_MAX];
    struct bar bars[16];
    size_t n;
};

static void read_all(const char *text, struct read_result *rr, int *init_err, char *init_msg)
{
    size_t n = strlen(text);
    char *data = malloc(n + 1);
    memcpy(data, text, n + 1);
    struct barcsv_reader r;
    struct diag d = {{0}};
    memset(rr, 0, sizeof *rr);
    *init_err = barcsv_reader_init(&r, "in.csv", data, n, &d);
    if (init_msg)
        memcpy(init_msg, d.text, DIAG_MAX);
    if (*init_err) {
        free(data);
        return;
    }
    int err;
    while (rr->n < 16 && (err = barcsv_next(&r, &rr->bars[rr->n], &d)) != ERR_EOF) {
        rr->errs[rr->n] = err;
        memcpy(rr->msgs[rr->n], d.text, DIAG_MAX);
        rr->n++;
    }
    free(data);
}

static void test_barcsv_read(void **state)
{
    (void)state;
    struct read_result rr;
    int ierr;
    char imsg[DIAG_MAX];
    read_all("Extra,Volume,Close,Low,High,Open,Date,Symbol\n"
             "x,100,10.5,9,11,10,2024-01-02,AAA\n"
             "y,100.0,10.5,9,11,10,2024-01-03,BRK.B\n",
             &rr, &ierr, imsg);
    assert_int_equal(ierr, ERR_OK);
    assert_int_equal(rr.n, 2);
    assert_int_equal(rr.errs[0], ERR_OK);
    assert_string_equal(rr.bars[0].symbol, "AAA");
    assert_int_equal(rr.bars[0].close, 10500000);
    assert_int_equal(rr.bars[0].high, 11000000);
    assert_int_equal(rr.bars[0].vwap, BAR_NONE);
    assert_int_equal(rr.bars[0].trades, BAR_NONE);
    assert_string_equal(rr.bars[1].symbol, "BRK.B");

    read_all("symbol,date,open,high,low,close\n", &rr, &ierr, imsg);
    assert_int_equal(ierr, ERR_PARSE);
    assert_string_equal(imsg, "in.csv:1: header lacks column 'volume' (need at least "
                              "symbol,date,open,high,low,close,volume)");
    read_all("", &rr, &ierr, imsg);
    assert_int_equal(ierr, ERR_PARSE);
    assert_string_equal(imsg, "in.csv: empty file, expected a header row");

    /* What the file most likely is, when it can be told. */
    read_all("Date,Open,High,Low,Close,Adj Close,Volume\n", &rr, &ierr, imsg);
    assert_int_equal(ierr, ERR_PARSE);
    assert_string_equal(imsg, "in.csv:1: header lacks column 'symbol' (need at least "
                              "symbol,date,open,high,low,close,volume); a file of one stock's "
                              "bars (as Yahoo Finance and Stooq export them) needs a symbol "
                              "column added");
    read_all("symbol;date;open;high;low;close;volume\n", &rr, &ierr, imsg);
    assert_int_equal(ierr, ERR_PARSE);
    assert_non_null(strstr(imsg, "volume); the header is one field with ';' in it: fields must "
                                 "be separated by commas"));
    read_all("symbol\tdate\topen\thigh\tlow\tclose\tvolume\n", &rr, &ierr, imsg);
    assert_non_null(strstr(imsg, "; the header is one field with tabs in it"));
    read_all("\xFF\xFEs", &rr, &ierr, imsg);
    assert_int_equal(ierr, ERR_PARSE);
    assert_non_null(strstr(imsg, "; the file is UTF-16 text: save it as UTF-8"));
    read_all("symbol,open,high,low,close,volume\n", &rr, &ierr, imsg);
    assert_string_equal(imsg, "in.csv:1: header lacks column 'date' (need at least "
                              "symbol,date,open,high,low,close,volume)");
}

static void test_barcsv_bad_rows(void **state)
{
    (void)state;
    struct read_result rr;
    int ierr;
    read_all("\xEF\xBB\xBFsymbol,date,open,high,low,close,volume,vwap,trades\n"
             "AAA,2024-01-02,10,11,9,10.5,100,10.2,7\n"
             "AAA,2024-01-02,ten,11,9,10.5,100,,\n"
             "AAA,2024-01-02,10,11,9,0,100,,\n"
             "AAA,2024-01-02,10,9,11,10,100,,\n"
             "AAA,2024-02-30,10,11,9,10,100,,\n"
             "aaa,2024-01-02,10,11,9,10,100,,\n"
             "AAA,2024-01-02,10,11,9,10,-5,,\n"
             "AAA,2024-01-02,10,11,9,10\n"
             "AAA,2024-01-02,10,11,9,10,100,,\n",
             &rr, &ierr, NULL);
    assert_int_equal(ierr, ERR_OK);
    assert_int_equal(rr.n, 9);
    assert_int_equal(rr.errs[0], ERR_OK);
    assert_int_equal(rr.bars[0].vwap, 10200000);
    assert_int_equal(rr.bars[0].trades, 7);
    assert_int_equal(rr.errs[1], ERR_PARSE);
    assert_string_equal(rr.msgs[1], "in.csv:3: field 'open': expected a decimal price, got 'ten'");
    assert_int_equal(rr.errs[2], ERR_INVALID);
    assert_string_equal(rr.msgs[2], "in.csv:4: AAA: field 'close': price must be positive, got 0");
    assert_string_equal(rr.msgs[3], "in.csv:5: AAA: field 'high': 9 is below low 11");
    assert_string_equal(rr.msgs[4],
                        "in.csv:6: field 'date': expected a date YYYY-MM-DD, got '2024-02-30'");
    assert_string_equal(rr.msgs[5], "in.csv:7: field 'symbol': expected a ticker of 1-15 "
                                    "characters A-Z 0-9 . - /, got 'aaa'");
    assert_string_equal(rr.msgs[6], "in.csv:8: AAA: field 'volume': must not be negative, got -5");
    assert_string_equal(rr.msgs[7], "in.csv:9: expected 9 fields as in the header, got 6");
    assert_int_equal(rr.errs[8], ERR_OK);

    /* A number out of range looks right: the message says what is wrong with it. */
    read_all("symbol,date,open,high,low,close,volume\n"
             "AAA,2024-01-02,99999999999999,99999999999999,9,10,100\n"
             "AAA,2024-01-02,10,11,9,10,1000.5\n"
             "AAA,2024-01-02,10,11,9,10,99999999999999999999\n",
             &rr, &ierr, NULL);
    assert_int_equal(rr.n, 3);
    assert_int_equal(rr.errs[0], ERR_INVALID);
    assert_string_equal(rr.msgs[0], "in.csv:2: field 'open': expected a decimal price, got "
                                    "'99999999999999': too large");
    assert_string_equal(rr.msgs[1], "in.csv:3: field 'volume': expected a whole number, got "
                                    "'1000.5': it has a fraction");
    assert_string_equal(rr.msgs[2], "in.csv:4: field 'volume': expected a whole number, got "
                                    "'99999999999999999999': too large");
}

/* A stray quote in a bar file costs its own line only.  Bars have no field with a line break,
 * so a quote must close on its line: a file quoting every field (as some exports do) with one
 * quote missing, or a quote never closed, used to swallow every line after it into one bad
 * row, reported as one. */
static void test_barcsv_stray_quote(void **state)
{
    (void)state;
    struct read_result rr;
    int ierr;
    read_all("\"symbol\",\"date\",\"open\",\"high\",\"low\",\"close\",\"volume\"\n"
             "\"AAA\",\"2024-01-02\",\"10\",\"11\",\"9\",\"10\",\"100\"\n"
             "\"AAA\",\"2024-01-03,\"10\",\"11\",\"9\",\"10\",\"100\"\n"
             "\"AAA\",\"2024-01-04\",\"10\",\"11\",\"9\",\"10\",\"100\"\n"
             "\"AAA,2024-01-05,10,11,9,10,100\n"
             "AAA,2024-01-08,10,11,9,10,100\n"
             "AAA,2024-01-09,10,11,9,10,\"100\n",
             &rr, &ierr, NULL);
    assert_int_equal(ierr, ERR_OK);
    assert_int_equal(rr.n, 6);
    assert_int_equal(rr.errs[0], ERR_OK);
    assert_int_equal(rr.errs[1], ERR_PARSE);
    assert_string_equal(rr.msgs[1], "in.csv: line 3: unexpected character after closing quote");
    assert_int_equal(rr.errs[2], ERR_OK);
    assert_int_equal(rr.bars[2].date, date_from_ymd(2024, 1, 4));
    assert_int_equal(rr.errs[3], ERR_PARSE);
    assert_string_equal(rr.msgs[3],
                        "in.csv: line 5: unterminated quoted field (not closed on its line)");
    assert_int_equal(rr.errs[4], ERR_OK);
    assert_int_equal(rr.bars[4].date, date_from_ymd(2024, 1, 8));
    assert_int_equal(rr.errs[5], ERR_PARSE);
    assert_string_equal(rr.msgs[5],
                        "in.csv: line 7: unterminated quoted field (not closed on its line)");
}

static void test_barcsv_roundtrip(void **state)
{
    (void)state;
    struct bar b = tu_bar("BRK.B", "2024-11-22", 187.15, 188.44, 183.885, 185.64, 82488674);
    b.vwap = 185946512;
    b.trades = 1009074;
    struct buf out = BUF_INIT(4096);
    barcsv_write_header(&out);
    barcsv_write_row(&out, &b);
    assert_string_equal(buf_cstr(&out), BARCSV_HEADER
                        "BRK.B,2024-11-22,187.15,188.44,183.885,185.64,82488674,185.946512,"
                        "1009074\n");
    struct barcsv_reader r;
    struct diag d;
    assert_int_equal(barcsv_reader_init(&r, "x", out.data, out.len, &d), ERR_OK);
    assert_true(r.canonical);
    struct bar back;
    assert_int_equal(barcsv_next(&r, &back, &d), ERR_OK);
    assert_true(bar_equal(&b, &back));
    assert_int_equal(barcsv_next(&r, &back, &d), ERR_EOF);
    buf_release(&out);
}

/* Random digits, n of them. */
static void put_digits(struct buf *o, uint64_t *s, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        buf_putc(o, (char)('0' + tu_rand(s) % 10));
}

/* A price as files write them, mostly: 0-9 integer digits, 1-8 decimals or none, now and then
 * something the readers must refuse (a sign, a second dot, a space, a letter, nothing). */
static void put_price(struct buf *o, uint64_t *s)
{
    static const char *const odd[] = {"-1.5", "+2", "1..5", "1.",  ".",     " 3",    "3 ",
                                      "1e3",  "",   "0",    "0.0", "\"4\"", "5.5.5", "1.2345678"};
    if (tu_rand(s) % 16 == 0) {
        buf_puts(o, odd[tu_rand(s) % (sizeof odd / sizeof *odd)]);
        return;
    }
    unsigned ni = (unsigned)(tu_rand(s) % 8 ? 1 + tu_rand(s) % 4 : tu_rand(s) % 10);
    if (ni && tu_rand(s) % 8 == 0)
        buf_putc(o, '0'); /* a leading zero */
    put_digits(o, s, ni);
    if (tu_rand(s) % 4) {
        buf_putc(o, '.');
        put_digits(o, s, (unsigned)(tu_rand(s) % 4 ? 1 + tu_rand(s) % 2 : tu_rand(s) % 9));
    }
}

/* A whole number: 1-20 digits, or now and then a sign or a dot. */
static void put_count(struct buf *o, uint64_t *s)
{
    static const char *const odd[] = {"-5", "1.0", "+7", "", "0", "00012", "9223372036854775807"};
    if (tu_rand(s) % 16 == 0)
        buf_puts(o, odd[tu_rand(s) % (sizeof odd / sizeof *odd)]);
    else
        put_digits(o, s, (unsigned)(tu_rand(s) % 8 ? 1 + tu_rand(s) % 10 : 1 + tu_rand(s) % 20));
}

/* A bar row of the canonical columns, mostly valid, with the odd field, ending or quote. */
static void put_row(struct buf *o, uint64_t *s)
{
    static const char *const syms[] = {"A",
                                       "BRK.B",
                                       "ABCDEFGHIJKLMNO",
                                       "ABCDEFGHIJKLMNOP",
                                       "aa",
                                       ".A",
                                       "A\"B",
                                       "\"A\"",
                                       "",
                                       "ZZZZ",
                                       "X-Y/Z",
                                       "Q\rR"};
    static const char *const days[] = {"2024-01-02", "2024-01-03", "2024-02-30", "2024-1-02"};
    buf_puts(o, tu_rand(s) % 4 ? "ABC" : syms[tu_rand(s) % (sizeof syms / sizeof *syms)]);
    buf_putc(o, ',');
    buf_puts(o, days[tu_rand(s) % 8 ? 0 : tu_rand(s) % 4]);
    buf_putc(o, ',');
    put_price(o, s); /* open */
    buf_putc(o, ',');
    size_t low = o->len;
    put_price(o, s);
    char text[32]; /* high as low: a valid bar more often than not */
    size_t n = o->len - low;
    memcpy(text, o->data + low, n);
    buf_putc(o, ',');
    if (tu_rand(s) % 2)
        buf_append(o, text, n);
    else
        put_price(o, s);
    buf_putc(o, ',');
    put_price(o, s); /* close */
    buf_putc(o, ',');
    put_count(o, s);
    buf_putc(o, ',');
    if (tu_rand(s) % 4)
        put_price(o, s); /* vwap, often with 6 decimals */
    if (tu_rand(s) % 8 == 0)
        put_digits(o, s, 1 + (unsigned)(tu_rand(s) % 6));
    buf_putc(o, ',');
    if (tu_rand(s) % 4)
        put_count(o, s);
    switch (tu_rand(s) % 32) {
    case 0:
        buf_puts(o, "\r\n");
        break;
    case 1:
        buf_puts(o, ",1\n");
        break;
    case 2:
        break; /* no line end: runs into the next row, or ends the data */
    default:
        buf_putc(o, '\n');
    }
}

/* Read data both ways: the canonical reader (the fast paths where they apply) and the general
 * path alone; they must accept, reject, number and value every row alike. */
static void read_both_ways(const char *data, size_t len, const char *what)
{
    char *a = malloc(len + 1), *g = malloc(len + 1);
    memcpy(a, data, len);
    memcpy(g, data, len);
    struct barcsv_reader ra, rg;
    struct diag da, dg;
    assert_int_equal(barcsv_reader_init(&ra, "x", a, len, &da), ERR_OK);
    assert_int_equal(barcsv_reader_init(&rg, "x", g, len, &dg), ERR_OK);
    assert_true(ra.canonical);
    rg.canonical = 0;
    for (;;) {
        struct bar ba, bg;
        memset(&ba, 0, sizeof ba);
        memset(&bg, 0, sizeof bg);
        int ea = barcsv_next(&ra, &ba, &da), eg = barcsv_next(&rg, &bg, &dg);
        if (ea != eg || barcsv_line(&ra) != barcsv_line(&rg) || ra.csv.p - a != rg.csv.p - g ||
            (ea == ERR_OK && !bar_equal(&ba, &bg)) ||
            (ea != ERR_OK && ea != ERR_EOF && strcmp(da.text, dg.text))) {
            fprintf(stderr, "%s: line %zu: fast %s, general %s; field %s\n%.*s\n", what,
                    barcsv_line(&rg), err_name(ea), err_name(eg),
                    ea == ERR_OK && eg == ERR_OK ? bar_diff_field(&ba, &bg) : "-", (int)len, data);
            fail();
        }
        if (ea == ERR_EOF)
            break;
    }
    free(a);
    free(g);
}

/* The readers of canonical rows against the general path: fixed rows with known values
 * (short and long prices, leading zeros, 6 and 7 decimals, empty vwap and trades, CRLF), each
 * with plenty of data after it and as the last row, then random rows. */
static void test_barcsv_fast_paths(void **state)
{
    (void)state;
    static const char *const rows[] = {
        "AAA,2024-01-02,1,2,1,2,0,,\n",
        "AAA,2024-01-02,204.09,207.16,201.94,205.56,78996774,204.886666,526646\n",
        "AAA,2024-01-02,007.50,0.5,.5,1234567.123456,123456789012345,0.000001,999999999999999\n",
        "AAA,2024-01-02,12345678.5,12345678,12345678,12345678,1234567890123456,1.5,7\n",
        "AAA,2024-01-02,1.1234567,2,1,2,5,,\n",
        "AAA,2024-01-02,1.5,2,1,2,5,1.1234567,\n",
        "AAA,2024-01-02,1.5,2,1,2,5,1.5,7\r\n",
        "AAA,2024-01-02,1.5,2,1,2,5,,7\r\n",
        "AAA,2024-01-02,1.5,2,1,2,,1.5,7\n",
        "AAA,2024-01-02,1.5,2,1,2,5,1.5\n",
        "AAA,2024-01-02,1.5,2,1,2,5,1.5,7,8\n",
        "AAA,2024-01-02,1.5.0,2,1,2,5,1.5,7\n",
        "AAA,2024-01-02,1.5,2,1,2,1.0,1.5,7\n",
        "AAA,2024-01-02,1.5,2,1,2,5,1.5,7.0\n",
        "ABCDEFGHIJKLMNO,2024-01-02,1.5,2,1,2,5,1.5,7\n",
        "ABCDEFGHIJKLMNOP,2024-01-02,1.5,2,1,2,5,1.5,7\n",
        "AAA,2024-01-02,99999999999.999999,99999999999.999999,1,2,5,,\n",
        /* well-formed, and refused by bar_validate: the same message either way */
        "AAA,2024-01-02,0,2,1,2,5,,\n",
        "AAA,2024-01-02,1,0.000000,1,2,5,,\n",
        "AAA,2024-01-02,1,2,0,2,5,1,3\n",
        "AAA,2024-01-02,1,2,1,0,5,1,3\n",
        "AAA,2024-01-02,1,1.5,1.500001,2,5,,\n",
        "AAA,2024-01-02,1,2,1,2,5,0,3\n",
        "AAA,2024-01-02,1,2,1,2,5,0.000000,\n",
        "AAA,2024-01-02,1,2,2,2,0,0.000001,0\n",
    };
    const char *filler = "ZZ,2024-01-02,1,1,1,1,1,1,1\n";
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        struct buf o = BUF_INIT(1 << 16);
        buf_puts(&o, BARCSV_HEADER);
        buf_puts(&o, rows[i]);
        for (int k = 0; k < 20; k++)
            buf_puts(&o, filler);
        read_both_ways(o.data, o.len, "before filler");
        buf_reset(&o);
        buf_puts(&o, BARCSV_HEADER);
        buf_puts(&o, rows[i]);
        read_both_ways(o.data, o.len, "last row");
        read_both_ways(o.data, o.len - 1, "last row, no line end");
        buf_release(&o);
    }
    /* The values themselves, read with data after them. */
    struct buf o = BUF_INIT(1 << 16);
    buf_puts(&o, BARCSV_HEADER);
    buf_puts(&o, rows[2]);
    for (int k = 0; k < 20; k++)
        buf_puts(&o, filler);
    struct barcsv_reader r;
    struct diag d;
    struct bar b;
    assert_int_equal(barcsv_reader_init(&r, "x", o.data, o.len, &d), ERR_OK);
    assert_int_equal(barcsv_next(&r, &b, &d), ERR_OK);
    assert_int_equal(b.open, 7500000);
    assert_int_equal(b.high, 500000);
    assert_int_equal(b.low, 500000);
    assert_int_equal(b.close, 1234567123456);
    assert_int_equal(b.volume, 123456789012345);
    assert_int_equal(b.vwap, 1);
    assert_int_equal(b.trades, 999999999999999);
    buf_release(&o);

    uint64_t seed = tu_seed("barcsv_fast_paths");
    for (int iter = 0; iter < 3000; iter++) {
        struct buf t = BUF_INIT(1 << 16);
        buf_puts(&t, BARCSV_HEADER);
        int nrows = 1 + (int)(tu_rand(&seed) % 12);
        for (int k = 0; k < nrows; k++)
            put_row(&t, &seed);
        read_both_ways(t.data, t.len, "random rows");
        buf_release(&t);
    }
}

/* Split factors beyond 1000 either way are refused with the file, line and symbol. */
static void test_splitcsv_bounds(void **state)
{
    (void)state;
    char ok[] = "symbol,ex_date,new_rate,old_rate\nA,2024-01-02,1000,1\nB,2024-01-02,1,1000\n";
    char big[] = "symbol,ex_date,new_rate,old_rate\nA,2024-01-02,2,1\nZZ,2024-01-03,1000000,1\n";
    char tiny[] = "symbol,ex_date,new_rate,old_rate\nZZ,2024-01-03,1,1001\n";
    struct splitvec sv;
    splitvec_init(&sv);
    struct diag d;
    assert_int_equal(splitcsv_parse("s.csv", ok, sizeof ok - 1, &sv, &d), ERR_OK);
    assert_int_equal(splitcsv_parse("s.csv", big, sizeof big - 1, &sv, &d), ERR_INVALID);
    assert_string_equal(d.text, "s.csv:3: ZZ: split factor 1000000-for-1 is outside the sane range "
                                "(at most 1000 either way)");
    assert_int_equal(splitcsv_parse("s.csv", tiny, sizeof tiny - 1, &sv, &d), ERR_INVALID);
    /* A log whose factors multiply beyond 10^9 for one symbol. */
    struct split chain[4];
    for (int i = 0; i < 4; i++)
        chain[i] = (struct split){"X", 100 + i, 1000000000, 1000000};
    assert_int_equal(split_check_log(chain, 3, &d), ERR_OK);
    assert_int_equal(split_check_log(chain, 4, &d), ERR_INVALID);
    assert_non_null(strstr(d.text, "split X 1970-04-14: factor 1000-for-1 makes the symbol's "
                                   "splits multiply to 1e+12"));
    splitvec_release(&sv);
}

static void test_splitcsv(void **state)
{
    (void)state;
    char text[] = "old_rate,new_rate,ex_date,symbol\n1,2,2024-06-10,NVDA\n10,1,2023-01-05,XYZ\n";
    struct splitvec sv;
    splitvec_init(&sv);
    struct diag d;
    assert_int_equal(splitcsv_parse("s.csv", text, sizeof text - 1, &sv, &d), ERR_OK);
    assert_int_equal(sv.n, 2);
    assert_string_equal(sv.v[0].symbol, "NVDA");
    assert_true(split_factor(&sv.v[0]) == 2.0);
    assert_true(split_factor(&sv.v[1]) == 0.1);
    struct buf out = BUF_INIT(4096);
    splitcsv_write(&out, sv.v, sv.n);
    assert_string_equal(buf_cstr(&out),
                        SPLITCSV_HEADER "NVDA,2024-06-10,2,1\nXYZ,2023-01-05,1,10\n");
    buf_release(&out);
    splitvec_release(&sv);

    char bad[] = "symbol,ex_date,new_rate,old_rate\nNVDA,2024-06-10,0,1\n";
    assert_int_equal(splitcsv_parse("s.csv", bad, sizeof bad - 1, &sv, &d), ERR_INVALID);
    assert_string_equal(d.text, "s.csv:2: field 'new_rate': expected a positive number, got '0'");
    splitvec_release(&sv);
}

/* bar_valid (the parsers' fast paths) and bar_validate (with its message) agree on every
 * combination of values at and around the limits of each field. */
static void test_bar_valid(void **state)
{
    (void)state;
    static const int64_t prices[] = {-1, 0, 1, 2};
    static const int64_t counts[] = {BAR_NONE, -1, 0, 1};
    size_t refused = 0, n = 0;
    for (int o = 0; o < 4; o++)
        for (int h = 0; h < 4; h++)
            for (int l = 0; l < 4; l++)
                for (int c = 0; c < 4; c++)
                    for (int v = 1; v < 4; v++)
                        for (int w = 0; w < 4; w++)
                            for (int t = 0; t < 4; t++) {
                                struct bar b = {.open = prices[o],
                                                .high = prices[h],
                                                .low = prices[l],
                                                .close = prices[c],
                                                .volume = counts[v],
                                                .vwap = w == 0 ? BAR_NONE : prices[w],
                                                .trades = counts[t]};
                                struct diag d = {{0}};
                                int err = bar_validate(&b, &d);
                                assert_int_equal(bar_valid(&b), err == ERR_OK);
                                assert_true(err == ERR_OK || err == ERR_INVALID);
                                refused += err != ERR_OK;
                                n++;
                            }
    assert_true(refused > 0 && refused < n);
}

static void test_hex_digits(void **state)
{
    (void)state;
    /* Every byte value, against a naive reading of the digit sets. */
    for (int c = 0; c < 256; c++) {
        const char *lower = "0123456789abcdef", *upper = "0123456789ABCDEF";
        int want = -1;
        for (int v = 0; v < 16 && c; v++)
            if (c == lower[v] || c == upper[v])
                want = v;
        assert_int_equal(crypto_hex_digit((char)c), want);
    }
    assert_int_equal(crypto_hex_byte("2F", 2), 0x2f);
    assert_int_equal(crypto_hex_byte("ff", 2), 255);
    assert_int_equal(crypto_hex_byte("00", 2), 0);
    assert_int_equal(crypto_hex_byte("a", 1), -1);  /* one digit left */
    assert_int_equal(crypto_hex_byte("2F", 1), -1); /* n counts, not the NUL */
    assert_int_equal(crypto_hex_byte("g0", 2), -1);
    assert_int_equal(crypto_hex_byte("0g", 2), -1);
    assert_int_equal(crypto_hex_byte("-1", 2), -1);
    /* Round trip with crypto_hex. */
    uint8_t bytes[256];
    char hex[513];
    for (int i = 0; i < 256; i++)
        bytes[i] = (uint8_t)i;
    crypto_hex(bytes, 256, hex);
    for (int i = 0; i < 256; i++)
        assert_int_equal(crypto_hex_byte(hex + 2 * i, 2), i);
}

static void test_secret_equal(void **state)
{
    (void)state;
    assert_true(crypto_secret_equal("s3cret", 6, "s3cret", 6));
    assert_false(crypto_secret_equal("s3cret", 6, "s3creT", 6));
    assert_false(crypto_secret_equal("s3cre", 5, "s3cret", 6));   /* a prefix */
    assert_false(crypto_secret_equal("s3crett", 7, "s3cret", 6)); /* longer */
    assert_false(crypto_secret_equal("", 0, "s3cret", 6));
    assert_true(crypto_secret_equal("", 0, "", 0));
    assert_false(crypto_secret_equal(NULL, 0, "", 0));
    /* Lengths are bytes: an embedded NUL counts. */
    assert_false(crypto_secret_equal("ab\0c", 4, "ab", 2));
    assert_true(crypto_secret_equal("ab\0c", 4, "ab\0c", 4));
}

static void test_alpaca_auth(void **state)
{
    (void)state;
    struct alpaca_auth a;
    struct diag d;
    assert_int_equal(alpaca_auth_init(&a, "PKTEST123", "s3cr3t/Key+x", &d), ERR_OK);
    assert_string_equal(a.lines[0], "APCA-API-KEY-ID: PKTEST123");
    assert_string_equal(a.lines[1], "APCA-API-SECRET-KEY: s3cr3t/Key+x");
    alpaca_auth_release(&a);
    assert_null(a.lines[0]);
    assert_int_equal(a.secret_line[0], 0);

    const char *missing = "no Alpaca credentials: set APCA_API_KEY_ID and APCA_API_SECRET_KEY";
    assert_int_equal(alpaca_auth_init(&a, NULL, "x", &d), ERR_AUTH);
    assert_string_equal(d.text, missing);
    assert_int_equal(alpaca_auth_init(&a, "k", "", &d), ERR_AUTH);
    assert_string_equal(d.text, missing);

    /* Values that would break or bend the header: refused, never quoted. */
    static const char *const bad[] = {"se\r\nX-Evil: 1", "tab\there", " lead", "trail ", "del\x7f"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(alpaca_auth_init(&a, "k", bad[i], &d), ERR_AUTH);
        assert_non_null(strstr(d.text, "APCA_API_SECRET_KEY"));
        assert_null(strstr(d.text, bad[i]));
        assert_int_equal(alpaca_auth_init(&a, bad[i], "s", &d), ERR_AUTH);
        assert_non_null(strstr(d.text, "APCA_API_KEY_ID"));
    }
    /* The longest accepted, and one more: refused, not cut. */
    char longest[ALPACA_AUTH_VALUE_MAX + 2];
    memset(longest, 'k', sizeof longest - 1);
    longest[sizeof longest - 1] = '\0';
    assert_int_equal(alpaca_auth_init(&a, "k", longest, &d), ERR_AUTH);
    longest[ALPACA_AUTH_VALUE_MAX] = '\0';
    assert_int_equal(alpaca_auth_init(&a, "k", longest, &d), ERR_OK);
    assert_int_equal(strlen(a.lines[1]), strlen("APCA-API-SECRET-KEY: ") + ALPACA_AUTH_VALUE_MAX);
    alpaca_auth_release(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv_basic),
        cmocka_unit_test(test_csv_errors),
        cmocka_unit_test(test_num_fixed),
        cmocka_unit_test(test_num_int),
        cmocka_unit_test(test_num_format_as_printf),
        cmocka_unit_test(test_num_format_4dp_as_printf),
        cmocka_unit_test(test_symbols),
        cmocka_unit_test(test_barcsv_read),
        cmocka_unit_test(test_barcsv_bad_rows),
        cmocka_unit_test(test_barcsv_stray_quote),
        cmocka_unit_test(test_barcsv_roundtrip),
        cmocka_unit_test(test_splitcsv),
        cmocka_unit_test(test_hex_digits),
        cmocka_unit_test(test_secret_equal),
        cmocka_unit_test(test_bar_valid),
        cmocka_unit_test(test_alpaca_auth),
        cmocka_unit_test(test_splitcsv_bounds),
        cmocka_unit_test(test_barcsv_fast_paths),
    };
    return cmocka_run_group_tests_name("codec", tests, NULL, NULL);
}
