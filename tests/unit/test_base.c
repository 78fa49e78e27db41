/* Unit tests: the base layer (errors, buffers, dates, logging, metrics). */
#include "testutil.h"

#include "base/buf.h"
#include "base/calendar.h"
#include "base/clock.h"
#include "base/date.h"
#include "base/emf.h"
#include "base/err.h"
#include "base/file.h"
#include "base/log.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void test_err_table(void **state)
{
    (void)state;
    assert_string_equal(err_name(ERR_OK), "OK");
    assert_string_equal(err_name(ERR_CONFLICT), "CONFLICT");
    assert_string_equal(err_str(ERR_NOTFOUND), "not found");
    assert_string_equal(err_name(-1), "UNKNOWN");
    assert_string_equal(err_str(ERR_COUNT_), "unknown error");
}

static void test_diag(void **state)
{
    (void)state;
    struct diag d;
    assert_int_equal(diag_set(&d, ERR_PARSE, "line %d: bad", 3), ERR_PARSE);
    assert_string_equal(d.text, "line 3: bad");
    diag_prefix(&d, ERR_PARSE, "%s", "f.csv");
    assert_string_equal(d.text, "f.csv: line 3: bad");
    /* Once: a text that already names the subject is left as it is; another gets it. */
    assert_int_equal(diag_prefix_once(&d, ERR_PARSE, "%s", "f.csv"), ERR_PARSE);
    assert_string_equal(d.text, "f.csv: line 3: bad");
    diag_prefix_once(&d, ERR_PARSE, "%s", "f.cs");
    assert_string_equal(d.text, "f.cs: f.csv: line 3: bad");
    diag_set(&d, ERR_IO, "store 'x'");
    diag_prefix_once(&d, ERR_IO, "store '%s'", "x");
    assert_string_equal(d.text, "store 'x': store 'x'");
    assert_int_equal(diag_set(NULL, ERR_IO, "ignored"), ERR_IO);

    /* A long message is cut with "..." rather than failing. */
    char big[2000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    diag_set(&d, ERR_INVALID, "%s", big);
    assert_int_equal(strlen(d.text), DIAG_MAX - 1);
    assert_string_equal(d.text + DIAG_MAX - 4, "...");

    char q[32];
    diag_quote(q, sizeof q, "a\nb\x01", 4, 10);
    assert_string_equal(q, "a\\x0ab\\x01");
    diag_quote(q, sizeof q, "abcdefgh", 8, 3);
    assert_string_equal(q, "abc...");
}

static void test_buf_cap(void **state)
{
    (void)state;
    struct buf b = BUF_INIT(8);
    assert_int_equal(buf_puts(&b, "12345678"), ERR_OK);
    assert_int_equal(buf_putc(&b, '9'), ERR_TOOBIG);
    assert_string_equal(buf_cstr(&b), "12345678"); /* nothing half-written */
    buf_reset(&b);
    assert_int_equal(buf_printf(&b, "%d-%s", 7, "ab"), ERR_OK);
    assert_string_equal(buf_cstr(&b), "7-ab");
    assert_int_equal(buf_printf(&b, "%s", "toolong"), ERR_TOOBIG);
    buf_release(&b);
    assert_string_equal(buf_cstr(&b), "");

    struct buf big = BUF_INIT(1 << 20);
    char chunk[1000];
    memset(chunk, 'a', sizeof chunk);
    for (int i = 0; i < 500; i++)
        assert_int_equal(buf_append(&big, chunk, sizeof chunk), ERR_OK);
    assert_int_equal(big.len, 500000);
    assert_int_equal(big.data[big.len], '\0');
    size_t len;
    char *p = buf_detach(&big, &len);
    assert_int_equal(len, 500000);
    free(p);
}

static void test_buf_json_escape(void **state)
{
    (void)state;
    struct buf b = BUF_INIT(1024);
    const char in[] = "a\"b\\c\nd\x01\xc3\xa9";
    buf_json_escape(&b, in, sizeof in - 1);
    assert_string_equal(buf_cstr(&b), "a\\\"b\\\\c\\nd\\u0001\xc3\xa9");
    buf_release(&b);
}

static void test_dates(void **state)
{
    (void)state;
    int32_t d;
    assert_int_equal(date_parse("1970-01-01", 10, &d), ERR_OK);
    assert_int_equal(d, 0);
    assert_int_equal(date_parse("2024-02-29", 10, &d), ERR_OK);
    char s[11];
    date_format(d, s);
    assert_string_equal(s, "2024-02-29");
    assert_int_equal(date_weekday(d), 4); /* a Thursday */
    assert_int_equal(date_parse("2023-02-29", 10, &d), ERR_PARSE);
    assert_int_equal(date_parse("2024-13-01", 10, &d), ERR_PARSE);
    assert_int_equal(date_parse("2024-1-01", 9, &d), ERR_PARSE);
    assert_int_equal(date_parse("2024-01-01T", 11, &d), ERR_PARSE);
    assert_int_equal(date_parse("1899-12-31", 10, &d), ERR_PARSE);
    assert_int_equal(date_parse("20x4-01-01", 10, &d), ERR_PARSE);

    /* Every day from 1900 to 2100 round-trips and consecutive days are consecutive numbers. */
    int32_t prev;
    assert_int_equal(date_parse("1900-01-01", 10, &prev), ERR_OK);
    for (int32_t day = prev + 1; day < prev + 73000; day++) {
        int32_t back;
        date_format(day, s);
        assert_int_equal(date_parse(s, 10, &back), ERR_OK);
        assert_int_equal(back, day);
    }
}

static int64_t fake_wall(void *ctx)
{
    (void)ctx;
    return 1767225600123LL; /* 2026-01-01T00:00:00.123Z */
}

static int64_t fake_mono_us(void *ctx)
{
    int64_t *t = ctx;
    return *t;
}

static void fake_sleep(void *ctx, int64_t ms)
{
    int64_t *t = ctx;
    *t += ms * 1000;
}

static char *capture_log(void (*fn)(void))
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    assert_non_null(f);
    log_set_stream(f);
    fn();
    fclose(f);
    log_set_stream(NULL);
    return out;
}

static void emit_info(void)
{
    log_set_request_id("req-1");
    log_info("bars written", LF_STR("symbol", "AB\"C"), LF_INT("rows", 42), LF_DBL("ratio", 0.5),
             LF_BOOL("ok", 1));
    log_debug("not shown");
}

static int64_t utc_ms(const char *date, int hh, int mm)
{
    int32_t d;
    assert_int_equal(date_parse(date, 10, &d), ERR_OK);
    return ((int64_t)d * 1440 + hh * 60 + mm) * 60000;
}

static void test_calendar_new_york(void **state)
{
    (void)state;
    int minute;
    /* Daily bar stamps: midnight New York in UTC, summer and winter. */
    int32_t d = cal_ny_date(utc_ms("2023-09-29", 4, 0), &minute);
    char s[11];
    date_format(d, s);
    assert_string_equal(s, "2023-09-29");
    assert_int_equal(minute, 0);
    date_format(cal_ny_date(utc_ms("2024-01-02", 5, 0), &minute), s);
    assert_string_equal(s, "2024-01-02");
    /* 2024-03-10 07:00 UTC is the first instant of daylight time; a minute earlier is EST. */
    assert_int_equal(cal_ny_offset_min(utc_ms("2024-03-10", 7, 0)), -240);
    assert_int_equal(cal_ny_offset_min(utc_ms("2024-03-10", 6, 59)), -300);
    /* 2024-11-03 06:00 UTC is 01:00 EST again. */
    assert_int_equal(cal_ny_offset_min(utc_ms("2024-11-03", 5, 59)), -240);
    assert_int_equal(cal_ny_offset_min(utc_ms("2024-11-03", 6, 0)), -300);
    /* Late evening in New York is the next day in UTC. */
    date_format(cal_ny_date(utc_ms("2026-11-26", 1, 30), &minute), s);
    assert_string_equal(s, "2026-11-25");
    assert_int_equal(minute, 20 * 60 + 30);
    int32_t day;
    assert_int_equal(date_parse("2026-07-01", 10, &day), ERR_OK);
    assert_true(cal_ny_to_utc_ms(day, 16 * 60) == utc_ms("2026-07-01", 20, 0));
    assert_int_equal(date_parse("2026-12-01", 10, &day), ERR_OK);
    assert_true(cal_ny_to_utc_ms(day, 16 * 60) == utc_ms("2026-12-01", 21, 0));
}

static const char *final_day(const char *date, int hh, int mm)
{
    static char s[DATE_STRLEN + 1];
    date_format(cal_last_final_day(utc_ms(date, hh, mm), CAL_CLOSE_MINUTE), s);
    return s;
}

static void test_calendar_last_final_day(void **state)
{
    (void)state;
    assert_int_equal(CAL_CLOSE_MINUTE, 16 * 60 + 20);
    /* A bar is final from 20:15 New York (00:15 UTC the next day in daylight time). */
    assert_int_equal(CAL_SETTLE_MINUTE, 20 * 60 + 15);
    char s[DATE_STRLEN + 1];
    date_format(cal_last_final_day(utc_ms("2026-07-02", 0, 14), CAL_SETTLE_MINUTE), s);
    assert_string_equal(s, "2026-06-30");
    date_format(cal_last_final_day(utc_ms("2026-07-02", 0, 15), CAL_SETTLE_MINUTE), s);
    assert_string_equal(s, "2026-07-01");
    /* At 16:30 the day's bar is there but not final. */
    date_format(cal_last_final_day(utc_ms("2026-07-01", 20, 30), CAL_SETTLE_MINUTE), s);
    assert_string_equal(s, "2026-06-30");
    /* Wednesday 2026-07-01 (EDT): final from 16:20 New York, 20:20 UTC. */
    assert_string_equal(final_day("2026-07-01", 20, 19), "2026-06-30");
    assert_string_equal(final_day("2026-07-01", 20, 20), "2026-07-01");
    /* In winter (EST) the same minute is 21:20 UTC. */
    assert_string_equal(final_day("2026-12-01", 21, 19), "2026-11-30");
    assert_string_equal(final_day("2026-12-01", 21, 20), "2026-12-01");
    /* Late evening in New York is the next UTC day: still the New York day's bar. */
    assert_string_equal(final_day("2026-12-02", 3, 0), "2026-12-01");
    /* A weekend and a holiday (Thanksgiving 2026-11-26) fall back to the trading day before. */
    assert_string_equal(final_day("2026-12-05", 22, 0), "2026-12-04");
    assert_string_equal(final_day("2026-11-26", 23, 0), "2026-11-25");
    /* Monday before the close: Friday's bar. */
    assert_string_equal(final_day("2026-12-07", 15, 0), "2026-12-04");
    /* Another settle minute moves the boundary (the collector's option). */
    assert_int_equal(cal_last_final_day(utc_ms("2026-07-01", 20, 5), 16 * 60),
                     cal_last_final_day(utc_ms("2026-07-01", 20, 20), CAL_CLOSE_MINUTE));
}

static void test_file_read(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    const char *path = tu_path(dir, "f.txt");
    tu_write_file(path, "hello\nworld\n", 12);
    struct diag d;
    struct buf b = BUF_INIT(64);
    assert_int_equal(buf_puts(&b, ">"), ERR_OK);
    assert_int_equal(file_read(path, &b, &d), ERR_OK);
    assert_string_equal(buf_cstr(&b), ">hello\nworld\n"); /* appended */
    buf_release(&b);

    /* Exactly at the cap, and one byte over it (refused before reading). */
    struct buf at = BUF_INIT(12), over = BUF_INIT(11);
    assert_int_equal(file_read(path, &at, &d), ERR_OK);
    assert_int_equal(at.len, 12);
    assert_int_equal(file_read(path, &over, &d), ERR_TOOBIG);
    assert_non_null(strstr(d.text, "is 12 bytes, over the limit of 11"));
    assert_non_null(strstr(d.text, path));
    buf_release(&at);
    buf_release(&over);

    /* Bytes with no end (a device): over the cap while reading, never truncated silently. */
    struct buf z = BUF_INIT(100000);
    assert_int_equal(file_read("/dev/zero", &z, &d), ERR_TOOBIG);
    assert_non_null(strstr(d.text, "'/dev/zero' is over the limit of 100000 bytes"));
    buf_release(&z);

    /* An empty file is an empty, NUL-terminated buffer. */
    const char *empty = tu_path(dir, "empty");
    tu_write_file(empty, "", 0);
    struct buf e = BUF_INIT(8);
    assert_int_equal(file_read(empty, &e, &d), ERR_OK);
    assert_int_equal(e.len, 0);
    assert_string_equal(buf_cstr(&e), "");

    /* Missing, under a file, a directory, unreadable. */
    assert_int_equal(file_read(tu_path(dir, "nope"), &e, &d), ERR_NOTFOUND);
    assert_non_null(strstr(d.text, "cannot open"));
    assert_non_null(strstr(d.text, "nope"));
    assert_int_equal(file_read(tu_path(dir, "f.txt/x"), &e, &d), ERR_NOTFOUND);
    assert_int_equal(file_read(dir, &e, &d), ERR_USAGE);
    assert_non_null(strstr(d.text, "is a directory"));
    if (geteuid() != 0) {
        assert_int_equal(chmod(path, 0), 0);
        assert_int_equal(file_read(path, &e, &d), ERR_IO);
        assert_non_null(strstr(d.text, "Permission denied"));
    }
    assert_int_equal(e.len, 0);
    buf_release(&e);
    tu_rmrf(dir);
    free(dir);
}

static void test_calendar_trading_days(void **state)
{
    (void)state;
    int32_t a, b;
    assert_int_equal(date_parse("2024-01-01", 10, &a), ERR_OK);
    assert_int_equal(date_parse("2024-12-31", 10, &b), ERR_OK);
    assert_int_equal(cal_trading_days(a, b), 252);
    assert_int_equal(cal_trading_days(b, a), 0);
    assert_int_equal(date_parse("2024-11-28", 10, &a), ERR_OK); /* Thanksgiving */
    char s[11];
    date_format(cal_trading_day_at_or_before(a), s);
    assert_string_equal(s, "2024-11-27");
    date_format(cal_trading_day_at_or_after(a), s);
    assert_string_equal(s, "2024-11-29");
}

static int32_t ymd(const char *s)
{
    int32_t d;
    assert_int_equal(date_parse(s, strlen(s), &d), ERR_OK);
    return d;
}

/* The exchange's unscheduled closures are not trading days; the days around them are. */
static void test_calendar_unscheduled_closures(void **state)
{
    (void)state;
    static const char *const closed[] = {
        "1985-09-27", "1994-04-27", "2001-09-11", "2001-09-12", "2001-09-13", "2001-09-14",
        "2004-06-11", "2007-01-02", "2012-10-29", "2012-10-30", "2018-12-05", "2025-01-09",
    };
    for (size_t i = 0; i < sizeof closed / sizeof closed[0]; i++) {
        if (cal_is_trading_day(ymd(closed[i])))
            fail_msg("%s is a trading day", closed[i]);
        assert_true(cal_is_unscheduled_closure(ymd(closed[i])));
    }
    static const char *const open[] = {"2001-09-10", "2001-09-17", "2012-10-26", "2012-10-31",
                                       "2018-12-04", "2018-12-06", "2025-01-08", "2025-01-10",
                                       "1997-01-20" /* MLK day before 1998: open */};
    for (size_t i = 0; i < sizeof open / sizeof open[0]; i++)
        if (!cal_is_trading_day(ymd(open[i])))
            fail_msg("%s is not a trading day", open[i]);
    assert_false(cal_is_trading_day(ymd("1998-01-19"))); /* the first MLK day closed */
    assert_int_equal(cal_trading_days(ymd("2001-09-10"), ymd("2001-09-17")), 2);
    /* Learned closures join them, and can be forgotten (tests only). */
    int32_t d = ymd("2030-03-06");
    assert_true(cal_is_trading_day(d));
    assert_int_equal(cal_learn_closed(&d, 1), ERR_OK);
    assert_int_equal(cal_learn_closed(&d, 1), ERR_OK);
    assert_false(cal_is_trading_day(d));
    assert_true(cal_is_trading_day(d + 1));
    cal_forget_learned();
    assert_true(cal_is_trading_day(d));
}

static void test_log_json(void **state)
{
    (void)state;
    int64_t mono = 0;
    struct clock_source src = {fake_wall, fake_mono_us, fake_sleep, &mono};
    clock_set_source(&src);
    log_setup(LOG_INFO, LOG_FORMAT_JSON);
    char *out = capture_log(emit_info);
    assert_string_equal(out, "{\"timestamp\":\"2026-01-01T00:00:00.123Z\",\"level\":\"info\","
                             "\"message\":\"bars written\",\"function\":\"emit_info\","
                             "\"request_id\":\"req-1\",\"symbol\":\"AB\\\"C\",\"rows\":42,"
                             "\"ratio\":0.5,\"ok\":true}\n");
    free(out);
    clock_set_source(NULL);
}

static void emit_secret(void)
{
    log_add_secret("s3cr3t-key-value");
    log_error("request failed", LF_STR("url", "https://x/?k=s3cr3t-key-value&b=s3cr3t-key-value"));
    log_clear_secrets();
}

static void test_log_redacts_secrets(void **state)
{
    (void)state;
    log_setup(LOG_INFO, LOG_FORMAT_JSON);
    char *out = capture_log(emit_secret);
    assert_null(strstr(out, "s3cr3t"));
    assert_non_null(strstr(out, "k=[redacted]&b=[redacted]"));
    free(out);
}

static void emit_timer(void)
{
    struct log_timer t = log_timer_start("import");
    clock_sleep_ms(250);
    double ms = log_timer_end(&t, ERR_OK);
    assert_true(ms == 250.0);
    t = log_timer_start("screen");
    log_timer_end(&t, ERR_IO);
}

static void test_log_timer(void **state)
{
    (void)state;
    int64_t mono = 1000;
    struct clock_source src = {fake_wall, fake_mono_us, fake_sleep, &mono};
    clock_set_source(&src);
    log_setup(LOG_INFO, LOG_FORMAT_JSON);
    char *out = capture_log(emit_timer);
    assert_non_null(strstr(out, "\"message\":\"import done\",\"function\":\"emit_timer\""));
    assert_non_null(strstr(out, "\"op\":\"import\",\"duration_ms\":250,\"ok\":true"));
    assert_non_null(strstr(out, "\"level\":\"error\",\"message\":\"screen failed\""));
    assert_non_null(strstr(out, "\"ok\":false,\"error\":\"IO\""));
    free(out);
    clock_set_source(NULL);
}

static void emit_human(void)
{
    log_warn("slow response", LF_INT("ms", 1200));
}

static void test_log_human_and_levels(void **state)
{
    (void)state;
    enum log_level l;
    assert_int_equal(log_level_parse("warning", &l), ERR_OK);
    assert_int_equal(l, LOG_WARN);
    assert_int_equal(log_level_parse("loud", &l), ERR_INVALID);
    log_setup(LOG_INFO, LOG_FORMAT_HUMAN);
    char *out = capture_log(emit_human);
    assert_non_null(strstr(out, "WARN  slow response ms=1200\n"));
    free(out);
    log_setup(LOG_ERROR, LOG_FORMAT_JSON);
    out = capture_log(emit_human);
    assert_string_equal(out, "");
    free(out);
}

static void test_emf(void **state)
{
    (void)state;
    struct buf b = BUF_INIT(4096);
    const struct emf_dim dims[] = {{"Strategy", "Contrarian"}, {"Universe", "Russell1000"}};
    const struct emf_metric m[] = {{"WorstDailyDrawdown", "Percent", -12.5},
                                   {"Skipped", "Count", (double)NAN}};
    assert_int_equal(emf_format(&b, EMF_NS_BUSINESS, dims, 2, m, 2, 1767225600000LL), ERR_OK);
    assert_string_equal(buf_cstr(&b),
                        "{\"_aws\":{\"Timestamp\":1767225600000,\"CloudWatchMetrics\":[{"
                        "\"Namespace\":\"StockScreener/Business\",\"Dimensions\":[[\"Strategy\","
                        "\"Universe\"]],\"Metrics\":[{\"Name\":\"WorstDailyDrawdown\",\"Unit\":"
                        "\"Percent\"}]}]},\"Strategy\":\"Contrarian\",\"Universe\":"
                        "\"Russell1000\",\"WorstDailyDrawdown\":-12.5}\n");
    buf_release(&b);
    assert_int_equal(emf_format(&b, "x", dims, 2, m, 0, 0), ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_err_table),
        cmocka_unit_test(test_diag),
        cmocka_unit_test(test_buf_cap),
        cmocka_unit_test(test_buf_json_escape),
        cmocka_unit_test(test_dates),
        cmocka_unit_test(test_calendar_new_york),
        cmocka_unit_test(test_calendar_trading_days),
        cmocka_unit_test(test_calendar_last_final_day),
        cmocka_unit_test(test_file_read),
        cmocka_unit_test(test_calendar_unscheduled_closures),
        cmocka_unit_test(test_log_json),
        cmocka_unit_test(test_log_redacts_secrets),
        cmocka_unit_test(test_log_timer),
        cmocka_unit_test(test_log_human_and_levels),
        cmocka_unit_test(test_emf),
    };
    return cmocka_run_group_tests_name("base", tests, NULL, NULL);
}
