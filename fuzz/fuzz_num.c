/* fuzz_num.c - the number and date parsers (codec/num.h, base/date.h) on arbitrary bytes.
 *
 * The whole input is one token.  Each parser is checked against a slow reimplementation of
 * its header's contract (same values accepted, same value), and each accepted value must
 * format to text that parses back to it: prices and counts are written and read back by the
 * store, so a value that does not survive the trip is silently corrupted data.  The first
 * bytes are also taken as a raw value to check the trip from the formatting side.
 */
#include "base/date.h"
#include "codec/num.h"
#include "check.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Value of the digits s[a..z) with leading zeros skipped, or ERR_INVALID when it exceeds
 * limit; digit counts are compared first so nothing overflows. */
static int ref_digits(const char *s, size_t a, size_t z, uint64_t limit, uint64_t *out)
{
    while (a < z && s[a] == '0')
        a++;
    if (z - a > 19)
        return ERR_INVALID;
    uint64_t v = 0;
    for (size_t i = a; i < z; i++) {
        uint64_t digit = (uint64_t)(s[i] - '0');
        if (v > (limit - digit) / 10)
            return ERR_INVALID;
        v = v * 10 + digit;
    }
    *out = v;
    return ERR_OK;
}

/* num_parse_fixed's contract: [+-] digits [. digits], at least one digit, rounded half away
 * from zero to six decimals, magnitude at most INT64_MAX millionths. */
static int ref_fixed(const char *s, size_t n, int64_t *out)
{
    size_t i = 0;
    int neg = 0;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        neg = s[i++] == '-';
    size_t ia = i;
    while (i < n && is_digit(s[i]))
        i++;
    size_t iz = i, fa = i, fz = i;
    if (i < n && s[i] == '.') {
        fa = ++i;
        while (i < n && is_digit(s[i]))
            i++;
        fz = i;
    }
    if (i != n || (iz - ia) + (fz - fa) == 0)
        return ERR_PARSE;
    uint64_t ip;
    if (ref_digits(s, ia, iz, (uint64_t)INT64_MAX / NUM_FIXED_SCALE, &ip))
        return ERR_INVALID;
    uint64_t frac = 0;
    for (size_t k = 0; k < NUM_FIXED_DECIMALS; k++)
        frac = frac * 10 + (fa + k < fz ? (uint64_t)(s[fa + k] - '0') : 0);
    uint64_t v = ip * NUM_FIXED_SCALE + frac;
    if (fz - fa > NUM_FIXED_DECIMALS && s[fa + NUM_FIXED_DECIMALS] >= '5')
        v++;
    if (v > (uint64_t)INT64_MAX)
        return ERR_INVALID;
    *out = neg ? -(int64_t)v : (int64_t)v;
    return ERR_OK;
}

/* num_parse_int's contract: [+-] digits [. zeros], magnitude at most INT64_MAX. */
static int ref_int(const char *s, size_t n, int64_t *out)
{
    size_t i = 0;
    int neg = 0;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        neg = s[i++] == '-';
    size_t a = i;
    while (i < n && is_digit(s[i]))
        i++;
    size_t z = i;
    if (z == a)
        return ERR_PARSE;
    if (i < n && s[i] == '.') {
        int nonzero = 0;
        for (i++; i < n && is_digit(s[i]); i++)
            nonzero |= s[i] != '0';
        if (i == n && nonzero)
            return ERR_INVALID;
    }
    if (i != n)
        return ERR_PARSE;
    uint64_t v;
    if (ref_digits(s, a, z, (uint64_t)INT64_MAX, &v))
        return ERR_INVALID;
    *out = neg ? -(int64_t)v : (int64_t)v;
    return ERR_OK;
}

static int leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int y, int m)
{
    static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && leap(y) ? 29 : dim[m - 1];
}

/* date_parse's contract, counting days one year and one month at a time. */
static int ref_date(const char *s, size_t n, int32_t *out, int *yy, int *mm, int *dd)
{
    if (n != DATE_STRLEN || s[4] != '-' || s[7] != '-')
        return ERR_PARSE;
    for (size_t i = 0; i < n; i++)
        if (i != 4 && i != 7 && !is_digit(s[i]))
            return ERR_PARSE;
    int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    int m = (s[5] - '0') * 10 + (s[6] - '0');
    int d = (s[8] - '0') * 10 + (s[9] - '0');
    if (y < DATE_MIN_YEAR || y > DATE_MAX_YEAR || m < 1 || m > 12 || d < 1 || d > month_days(y, m))
        return ERR_PARSE;
    int32_t days = 0;
    for (int k = 1970; k < y; k++)
        days += leap(k) ? 366 : 365;
    for (int k = y; k < 1970; k++)
        days -= leap(k) ? 366 : 365;
    for (int k = 1; k < m; k++)
        days += month_days(y, k);
    *out = days + d - 1;
    *yy = y;
    *mm = m;
    *dd = d;
    return ERR_OK;
}

/* 0 = Sunday, by Sakamoto's method, which shares nothing with the day-number arithmetic. */
static int ref_weekday(int y, int m, int d)
{
    static const int t[] = {0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4};
    if (m < 3)
        y--;
    return (y + y / 4 - y / 100 + y / 400 + t[m - 1] + d) % 7;
}

static void check_fixed_trip(int64_t v)
{
    char text[NUM_FIXED_STRMAX];
    size_t n = num_format_fixed(v, text);
    CHECK(n < NUM_FIXED_STRMAX && strlen(text) == n);
    int64_t back;
    int err = num_parse_fixed(text, n, &back);
    CHECKF(err == ERR_OK && back == v, "%lld formats as '%s', which parses as %s %lld\n",
           (long long)v, text, err_name(err), err ? 0LL : (long long)back);
    /* Shortest form: no trailing zero after the point, no point without decimals. */
    if (memchr(text, '.', n))
        CHECKF(text[n - 1] != '0' && text[n - 1] != '.', "'%s' is not the shortest form\n", text);
}

static void check_int_trip(int64_t v)
{
    char text[24];
    size_t n = num_format_int(v, text);
    CHECK(n < sizeof text && strlen(text) == n);
    int64_t back;
    int err = num_parse_int(text, n, &back);
    CHECKF(err == ERR_OK && back == v, "%lld formats as '%s', which parses as %s %lld\n",
           (long long)v, text, err_name(err), err ? 0LL : (long long)back);
}

static void check_date_trip(int32_t days)
{
    char text[DATE_STRLEN + 1];
    date_format(days, text);
    CHECK(strlen(text) == DATE_STRLEN);
    int32_t back;
    CHECKF(date_parse(text, DATE_STRLEN, &back) == ERR_OK && back == days,
           "day %d formats as '%s', which does not parse back\n", (int)days, text);
}

static void check_text(const char *s, size_t n)
{
    int64_t v = 0, want = 0;
    int err = num_parse_fixed(s, n, &v);
    int ref = ref_fixed(s, n, &want);
    CHECKF((err == ERR_OK) == (ref == ERR_OK) && (err || v == want),
           "num_parse_fixed: %s %lld, expected %s %lld\n", err_name(err), (long long)v,
           err_name(ref), (long long)want);
    /* Well formed but too large must say so, not "malformed". */
    CHECK(ref != ERR_INVALID || err == ERR_INVALID);
    CHECK(err == ERR_OK || err == ERR_PARSE || err == ERR_INVALID);
    if (err == ERR_OK)
        check_fixed_trip(v);

    int64_t count = 0;
    err = num_parse_int(s, n, &count);
    ref = ref_int(s, n, &want);
    CHECKF((err == ERR_OK) == (ref == ERR_OK) && (err || count == want),
           "num_parse_int: %s %lld, expected %s %lld\n", err_name(err), (long long)count,
           err_name(ref), (long long)want);
    CHECK(err == ERR_OK || err == ERR_PARSE || err == ERR_INVALID);
    if (err == ERR_OK) {
        check_int_trip(count);
        /* A count is also a price, when it fits. */
        int64_t limit = INT64_MAX / NUM_FIXED_SCALE;
        if (count <= limit && count >= -limit) {
            CHECK(num_parse_fixed(s, n, &v) == ERR_OK && v == count * NUM_FIXED_SCALE);
        }
    }

    int32_t day = 0, want_day = 0;
    int y = 0, m = 0, d = 0;
    err = date_parse(s, n, &day);
    ref = ref_date(s, n, &want_day, &y, &m, &d);
    CHECKF(err == ref && (err || day == want_day), "date_parse: %s %d, expected %s %d\n",
           err_name(err), (int)day, err_name(ref), (int)want_day);
    if (err == ERR_OK) {
        /* The text is already canonical, so it must come back byte for byte. */
        char text[DATE_STRLEN + 1];
        date_format(day, text);
        CHECKF(memcmp(text, s, DATE_STRLEN) == 0, "'%.10s' formats back as '%s'\n", s, text);
        int ry, rm, rd;
        date_to_ymd(day, &ry, &rm, &rd);
        CHECK(ry == y && rm == m && rd == d && date_from_ymd(y, m, d) == day);
        CHECK(date_weekday(day) == ref_weekday(y, m, d));
        check_date_trip(day);
    }
}

/* From the formatting side: any value but BAR_NONE's INT64_MIN, which the parsers cannot
 * produce (their magnitude is at most INT64_MAX), and any day of the supported years. */
static void check_raw(const uint8_t *data, size_t size)
{
    if (size < sizeof(int64_t))
        return;
    int64_t v;
    memcpy(&v, data, sizeof v);
    if (v != INT64_MIN) {
        check_fixed_trip(v);
        check_int_trip(v);
    }
    int32_t first = date_from_ymd(DATE_MIN_YEAR, 1, 1);
    int32_t last = date_from_ymd(DATE_MAX_YEAR, 12, 31);
    uint32_t raw;
    memcpy(&raw, data, sizeof raw);
    check_date_trip(first + (int32_t)(raw % (uint32_t)(last - first + 1)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_dup(data, size);
    if (!text)
        return 0;
    check_text(text, size);
    check_raw(data, size);
    free(text);
    return 0;
}
