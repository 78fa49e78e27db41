/* calendar.h - the US equity market's calendar and New York time.
 *
 * The collector needs both: a daily bar's timestamp is midnight in New York, a day's bar is
 * final only after the close, and "is there a trading day in this range" decides whether a
 * request is needed at all.  Pure functions of their arguments.
 */
#ifndef BASE_CALENDAR_H
#define BASE_CALENDAR_H

#include <stddef.h>
#include <stdint.h>

/* NYSE's trading days: weekdays except the exchange holidays (New Year, MLK day from 1998,
 * Presidents day, Good Friday, Memorial day, Juneteenth from 2022, Independence day, Labor
 * day, Thanksgiving, Christmas; Saturday holidays observed on Friday, Sunday ones on Monday,
 * except New Year's Day on a Saturday, which is not observed), the unscheduled closures of
 * the exchange's history (hurricanes Gloria and Sandy, 11 September 2001, days of mourning for
 * presidents: the table in calendar.c), and the closed days learned from the data
 * (cal_learn_closed). */
int cal_is_trading_day(int32_t date);

/* 1 when date is one of the built-in unscheduled closures. */
int cal_is_unscheduled_closure(int32_t date);

/* Add closed days learned from the data (a weekday on which no symbol of a large universe has
 * a bar; store/barstore.h keeps them).  Process-wide; call it before other threads use the
 * calendar (at start-up, or between runs).  At most CAL_LEARNED_MAX days are kept; more are
 * ignored (ERR_TOOBIG).  Repeated days are fine. */
#define CAL_LEARNED_MAX 4096
int cal_learn_closed(const int32_t *days, size_t n);

/* Forget the learned days (tests). */
void cal_forget_learned(void);

/* The nearest trading day at or before (after) date. */
int32_t cal_trading_day_at_or_before(int32_t date);
int32_t cal_trading_day_at_or_after(int32_t date);

/* Trading days in [from, to] (0 when from > to). */
int32_t cal_trading_days(int32_t from, int32_t to);

/* New York minute of the day from which a trading day's daily bar is there to fetch: 16:20,
 * twenty minutes after the close, once the closing auction's prints are in the bar.  The bar
 * is provisional until CAL_SETTLE_MINUTE.  The collector asks for nothing newer and /stats
 * measures freshness against it. */
#define CAL_CLOSE_MINUTE (16 * 60 + 20)

/* New York minute of the day from which a trading day's daily bar is final: 20:15.  Alpaca's
 * daily bar keeps accumulating extended-hours trades (volume, trades, VWAP, and sometimes high,
 * low and close) until 20:00; a bar fetched before 20:15 of its date is provisional
 * (docs/definitions.md#provisional-and-final-bars). */
#define CAL_SETTLE_MINUTE (20 * 60 + 15)

/* The last trading day whose daily bar is complete by `minute` at the instant utc_ms: the New
 * York date when it is a trading day and New York's clock is at or past minute, else the
 * trading day before it.  With CAL_CLOSE_MINUTE: the latest bar there is; with
 * CAL_SETTLE_MINUTE: the latest final bar. */
int32_t cal_last_final_day(int64_t utc_ms, int settle_minute);

/* New York's offset from UTC in minutes (-240 in daylight time, -300 otherwise) at the
 * instant utc_ms (US rules since 2007: second Sunday of March 02:00 local to the first
 * Sunday of November 02:00 local). */
int cal_ny_offset_min(int64_t utc_ms);

/* The New York calendar date and minute of the day (0..1439) at the instant utc_ms. */
int32_t cal_ny_date(int64_t utc_ms, int *minute_of_day);

/* The UTC instant of local New York time date + minute_of_day. */
int64_t cal_ny_to_utc_ms(int32_t date, int minute_of_day);

#endif
