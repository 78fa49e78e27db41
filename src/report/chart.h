/* chart.h - a PNG chart of one stock: a year of closes, the rolling peak, the drawdown shaded.
 *
 * The data (chart_load): the symbol's bars of the CHART_DAYS calendar days up to the date,
 * split-adjusted as of the date exactly as the screen adjusts them, and for each the peak of
 * SPEC 2: the highest high among the symbol's bars in the window of W calendar days ending
 * that day (the bars before the year are read too, so the first day's peak is a whole
 * window's).
 *
 * The picture (chart_png): CHART_WIDTH x CHART_HEIGHT pixels, drawn with cairo (the only file
 * that includes it): the closes as a line, the peak as a dashed line, the gap between them
 * (the drawdown) shaded, price and month labels, and at the top the symbol, the date and the
 * figures of the last day (close, peak and its date, drawdown, days since the peak).  Text
 * is set in the TrueType font file given (DejaVu Sans by default), loaded through FreeType,
 * so the image does not depend on the fonts a machine happens to have.
 */
#ifndef REPORT_CHART_H
#define REPORT_CHART_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "codec/bar.h"
#include "store/objstore.h"

#define CHART_DAYS         365
#define CHART_WIDTH        1000
#define CHART_HEIGHT       560
#define CHART_MAX          ((size_t)4 << 20) /* the largest PNG made (Telegram takes 10 MB) */
#define CHART_FONT_DEFAULT "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"

struct chart_point {
    int32_t date;
    double close, peak; /* dollars, split-adjusted as of the series' date */
    int32_t peak_date;
};

struct chart_series {
    char symbol[BAR_SYMBOL_MAX + 1];
    int32_t date; /* the last day: its last bar's, on or before the date asked for */
    int window_days;
    size_t since_peak;     /* the symbol's bars after the last day's peak date, up to the last
                            * day, as the screen's days_since_peak (those before the year too) */
    struct chart_point *v; /* ascending by date */
    size_t n, cap;
};

void chart_series_release(struct chart_series *s);

/* The series of symbol up to date (0: the latest stored day) with a peak window of
 * window_days.  ERR_NOTFOUND when the symbol has no bar in the year up to the date. */
int chart_load(struct objstore *os, const char *symbol, int32_t date, int window_days,
               struct chart_series *out, struct diag *d);

/* The same series from the results alone, as of the last date of results/bars-1y.csv: one
 * read of that file and one of the split log, never the bar store's day parts (what the bot
 * uses; a year and a half of parts is hundreds of requests on S3).  The file holds
 * RESULTS_BARS_DAYS calendar days, the year and the peak window of its first day, so the
 * series is the same as chart_load's for window_days up to SCREEN_WINDOW_DEFAULT; a shorter
 * file (written before the store held that much) gives the peaks of what it holds.
 * ERR_NOTFOUND when the file is absent or the symbol has no bar in the year; a damaged file
 * is ERR_PARSE naming the line. */
int chart_load_results(struct objstore *os, const char *symbol, int window_days,
                       struct chart_series *out, struct diag *d);

/* The PNG of s, appended to png.  font_file NULL: CHART_FONT_DEFAULT.  ERR_NOTFOUND naming
 * the font file when it is not there, ERR_INVALID when it is not a font (ERR_IO when it cannot
 * be read); ERR_INVALID for a series without points. */
int chart_png(const struct chart_series *s, const char *font_file, struct buf *png, struct diag *d);

#endif
