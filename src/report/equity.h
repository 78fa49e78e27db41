/* equity.h - the backtest's equity curve as the report reads it.
 *
 *   results/backtest/equity.csv
 *     date,equity,cash,positions,benchmark
 *
 * One row per date, dates strictly ascending; equity and cash are dollars (cash may be
 * negative by rounding, never equity), positions a whole number of positions held, benchmark
 * the value of the same capital held in the benchmark (empty when there is none that day).
 * The file comes from another program run at another time, so it is read like any outside
 * input: a wrong header, field or order is refused naming the line and field.
 */
#ifndef REPORT_EQUITY_H
#define REPORT_EQUITY_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define REPORT_EQUITY_KEY "results/backtest/equity.csv"
#define REPORT_EQUITY_MAX ((size_t)32 << 20)

struct report_equity_point {
    int32_t date;
    double equity, cash;
    int64_t positions;
    double benchmark; /* NAN when none */
};

struct report_equity {
    struct report_equity_point *v;
    size_t n, cap;
};

void report_equity_release(struct report_equity *e);

/* Parse the CSV above (name is for messages); rows are appended to out. */
int report_parse_equity(const char *name, const char *data, size_t len, struct report_equity *out,
                        struct diag *d);

#endif
