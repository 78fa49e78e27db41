/* calendar.c - NYSE trading days and New York local time. */
#include "base/calendar.h"

#include "base/date.h"
#include "base/err.h"

#include <stdlib.h>

#include "base/banned.h"

static int32_t nth_weekday(int y, int m, int weekday, int n)
{
    int32_t first = date_from_ymd(y, m, 1);
    int offset = (weekday - date_weekday(first) + 7) % 7;
    return first + offset + 7 * (n - 1);
}

static int32_t last_weekday(int y, int m, int weekday)
{
    int32_t next = m == 12 ? date_from_ymd(y + 1, 1, 1) : date_from_ymd(y, m + 1, 1);
    int32_t last = next - 1;
    return last - (date_weekday(last) - weekday + 7) % 7;
}

/* Gregorian Easter Sunday (the anonymous algorithm). */
static int32_t easter(int y)
{
    int a = y % 19, b = y / 100, c = y % 100, d = b / 4, e = b % 4, f = (b + 8) / 25;
    int g = (b - f + 1) / 3, h = (19 * a + b - d - g + 15) % 30, i = c / 4, k = c % 4;
    int l = (32 + 2 * e + 2 * i - h - k) % 7, m = (a + 11 * h + 22 * l) / 451;
    int month = (h + l - 7 * m + 114) / 31, day = (h + l - 7 * m + 114) % 31 + 1;
    return date_from_ymd(y, month, day);
}

static int32_t observed(int32_t day)
{
    int w = date_weekday(day);
    return w == 6 ? day - 1 : w == 0 ? day + 1 : day;
}

/* Weekdays the exchange did not open though no rule says so, as days since 1970-01-01. */
static const struct {
    int y, m, d;
} unscheduled[] = {
    {1985, 9, 27},  /* Hurricane Gloria */
    {1994, 4, 27},  /* funeral of President Nixon */
    {2001, 9, 11},  /* the attacks on the World Trade Center, and the three days after */
    {2001, 9, 12},  /* */
    {2001, 9, 13},  /* */
    {2001, 9, 14},  /* */
    {2004, 6, 11},  /* funeral of President Reagan */
    {2007, 1, 2},   /* day of mourning for President Ford */
    {2012, 10, 29}, /* Hurricane Sandy, two days */
    {2012, 10, 30}, /* */
    {2018, 12, 5},  /* day of mourning for President G. H. W. Bush */
    {2025, 1, 9},   /* day of mourning for President Carter */
};

int cal_is_unscheduled_closure(int32_t date)
{
    int y, m, d;
    date_to_ymd(date, &y, &m, &d);
    for (size_t i = 0; i < sizeof unscheduled / sizeof unscheduled[0]; i++)
        if (unscheduled[i].y == y && unscheduled[i].m == m && unscheduled[i].d == d)
            return 1;
    return 0;
}

static int32_t learned[CAL_LEARNED_MAX];
static size_t nlearned;

static int day_cmp(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

int cal_learn_closed(const int32_t *days, size_t n)
{
    int err = ERR_OK;
    for (size_t i = 0; i < n; i++) {
        if (bsearch(&days[i], learned, nlearned, sizeof *learned, day_cmp))
            continue;
        if (nlearned == CAL_LEARNED_MAX) {
            err = ERR_TOOBIG;
            break;
        }
        learned[nlearned++] = days[i];
        qsort(learned, nlearned, sizeof *learned, day_cmp);
    }
    return err;
}

void cal_forget_learned(void)
{
    nlearned = 0;
}

int cal_is_trading_day(int32_t date)
{
    int w = date_weekday(date);
    if (w == 0 || w == 6)
        return 0;
    if (nlearned && bsearch(&date, learned, nlearned, sizeof *learned, day_cmp))
        return 0;
    int y, m, d;
    date_to_ymd(date, &y, &m, &d);
    if (y >= 1985 && y <= 2025 && cal_is_unscheduled_closure(date))
        return 0;
    int32_t holidays[] = {
        date_from_ymd(y, 1, 1) + (date_weekday(date_from_ymd(y, 1, 1)) == 0),
        y >= 1998 ? nth_weekday(y, 1, 1, 3) : -1,
        nth_weekday(y, 2, 1, 3),
        easter(y) - 2,
        last_weekday(y, 5, 1),
        y >= 2022 ? observed(date_from_ymd(y, 6, 19)) : -1,
        observed(date_from_ymd(y, 7, 4)),
        nth_weekday(y, 9, 1, 1),
        nth_weekday(y, 11, 4, 4),
        observed(date_from_ymd(y, 12, 25)),
    };
    for (size_t i = 0; i < sizeof holidays / sizeof holidays[0]; i++)
        if (holidays[i] == date)
            return 0;
    return 1;
}

int32_t cal_trading_day_at_or_before(int32_t date)
{
    while (!cal_is_trading_day(date))
        date--;
    return date;
}

int32_t cal_trading_day_at_or_after(int32_t date)
{
    while (!cal_is_trading_day(date))
        date++;
    return date;
}

int32_t cal_trading_days(int32_t from, int32_t to)
{
    int32_t n = 0;
    for (int32_t d = from; d <= to; d++)
        n += cal_is_trading_day(d);
    return n;
}

#define MS_PER_MIN ((int64_t)60000)
#define MS_PER_DAY ((int64_t)86400000)

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

int cal_ny_offset_min(int64_t utc_ms)
{
    int32_t utc_day = (int32_t)floor_div(utc_ms, MS_PER_DAY);
    int y, m, d;
    date_to_ymd(utc_day, &y, &m, &d);
    /* Daylight time starts at 02:00 EST (07:00 UTC) on the second Sunday of March and ends at
     * 02:00 EDT (06:00 UTC) on the first Sunday of November. */
    int64_t start = (int64_t)nth_weekday(y, 3, 0, 2) * MS_PER_DAY + 7 * 60 * MS_PER_MIN;
    int64_t end = (int64_t)nth_weekday(y, 11, 0, 1) * MS_PER_DAY + 6 * 60 * MS_PER_MIN;
    return utc_ms >= start && utc_ms < end ? -240 : -300;
}

int32_t cal_ny_date(int64_t utc_ms, int *minute_of_day)
{
    int64_t local = utc_ms + cal_ny_offset_min(utc_ms) * MS_PER_MIN;
    int32_t day = (int32_t)floor_div(local, MS_PER_DAY);
    if (minute_of_day)
        *minute_of_day = (int)((local - (int64_t)day * MS_PER_DAY) / MS_PER_MIN);
    return day;
}

int64_t cal_ny_to_utc_ms(int32_t date, int minute_of_day)
{
    int64_t local = (int64_t)date * MS_PER_DAY + minute_of_day * MS_PER_MIN;
    /* The offset at the guessed instant is right except within the hour of a change, where
     * the second guess settles it. */
    int64_t guess = local + 300 * MS_PER_MIN;
    return local - cal_ny_offset_min(guess) * MS_PER_MIN;
}

int32_t cal_last_final_day(int64_t utc_ms, int settle_minute)
{
    int minute;
    int32_t today = cal_ny_date(utc_ms, &minute);
    if (cal_is_trading_day(today) && minute >= settle_minute)
        return today;
    return cal_trading_day_at_or_before(today - 1);
}
