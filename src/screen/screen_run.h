/* screen_run.h - run the screen engine over the bar store. */
#ifndef SCREEN_SCREEN_RUN_H
#define SCREEN_SCREEN_RUN_H

#include "screen/screen.h"
#include "store/barstore.h"

/* Told the ranked rows of each date in the range, in date order (n may be 0). */
typedef int (*screen_emit_fn)(void *ctx, int32_t date, const struct screen_row *rows, size_t n);

struct screen_run_stats {
    size_t days_read; /* days read from the store, window warm-up included */
    size_t bars_read;
    size_t days_ranked; /* days in [from, to] */
    size_t symbols;
};

/* Screen every stored date in [from, to]; from == INT32_MIN means "the latest stored date"
 * (and then to is ignored), from == SCREEN_RUN_FIRST "the first stored date" and
 * to == INT32_MAX "the last" (the store is then listed once, not once more to find them).  Reads
 * only what the window needs: the days from from - (window - 1), or the whole history when min_bars
 * is 1 (a symbol's previous bar may then be older than the window).  ERR_NOTFOUND when no stored
 * date is in the range.
 *
 * The store is read and parsed on a second thread while this one ranks (barstore_scan_ahead),
 * so emit must not use the barstore or its objstore: an objstore is not safe to share between
 * threads. */
#define SCREEN_RUN_FIRST (INT32_MIN + 1)
int screen_run(struct barstore *bs, const struct screen_opts *opts, int32_t from, int32_t to,
               screen_emit_fn emit, void *ctx, struct screen_run_stats *stats, struct diag *d);

/* screen_run for a command that reads the store for this screen alone (barstore_read_once):
 * a range with its window (not the whole history) is listed once and, when it is at most
 * SCREEN_RUN_ALONE_DAYS stored days, has every part it needs fetched at once with the split
 * log's (barstore_prefetch_index): on S3 one round trip after the listings instead of one per
 * step.  Not for a caller that reads ahead for itself (the daily run): what it holds is
 * replaced, then dropped. */
#define SCREEN_RUN_ALONE_DAYS 300
int screen_run_alone(struct barstore *bs, const struct screen_opts *opts, int32_t from, int32_t to,
                     screen_emit_fn emit, void *ctx, struct screen_run_stats *stats,
                     struct diag *d);

/* screen_run reading the store on the caller's thread, for an emit that writes to the store
 * (results rewritten date by date). */
int screen_run_inline(struct barstore *bs, const struct screen_opts *opts, int32_t from, int32_t to,
                      screen_emit_fn emit, void *ctx, struct screen_run_stats *stats,
                      struct diag *d);

#endif
