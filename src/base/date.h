/* date.h - calendar dates as day numbers.
 *
 * A date is an int32_t count of days since 1970-01-01 (negative before), so that windows of
 * calendar days are plain subtraction.  Conversions use the proleptic Gregorian calendar.
 */
#ifndef BASE_DATE_H
#define BASE_DATE_H

#include <stddef.h>
#include <stdint.h>

#define DATE_STRLEN   10 /* "YYYY-MM-DD" */
#define DATE_MIN_YEAR 1900
#define DATE_MAX_YEAR 2999

int32_t date_from_ymd(int y, int m, int d);
void date_to_ymd(int32_t days, int *y, int *m, int *d);

/* 0 = Sunday ... 6 = Saturday */
int date_weekday(int32_t days);

/* Parse exactly "YYYY-MM-DD" (n bytes, no more, no less) with a real day of the month and a
 * year in [DATE_MIN_YEAR, DATE_MAX_YEAR].  Returns ERR_OK or ERR_PARSE. */
int date_parse(const char *s, size_t n, int32_t *out);

/* Write "YYYY-MM-DD" and a NUL into out (at least 11 bytes). */
void date_format(int32_t days, char out[DATE_STRLEN + 1]);

/* Today's date in UTC from the clock source. */
int32_t date_today_utc(void);

#endif
