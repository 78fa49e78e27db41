/* report_page.h - the daily HTML report's inputs that live above the report layer: the
 * portfolio section, read from the account's snapshots (account/portfolio.h) into what the
 * report shows (report/report.h), and the daily job's report step.  `screener report` and the
 * daily job share both.
 */
#ifndef DAILY_REPORT_PAGE_H
#define DAILY_REPORT_PAGE_H

#include <stdint.h>

#include "report/report.h"
#include "store/objstore.h"

/* The latest portfolio snapshot at or before date, against the profit target target (in %),
 * into rp.  *pos receives the positions rp points at (free() it; NULL on failure).
 * ERR_NOTFOUND when no snapshot is that old. */
int daily_report_portfolio(struct objstore *os, int32_t date, double target,
                           struct report_portfolio *rp, struct report_position **pos,
                           struct diag *d);

/* The daily job's report step: publish the report of date (report_publish) with the portfolio
 * section when tracking is on (account/account.h) and a snapshot exists; a portfolio that
 * cannot be read is logged and left out, not a failure.  Logs what was written; out (may be
 * NULL) receives it.  date 0: nothing screened yet, nothing to do (ERR_OK, out->date 0).
 * bs (may be NULL): the bar store of os whose split log to use (report_opts.bars). */
int daily_publish_report(struct objstore *os, struct barstore *bs, int32_t date, int64_t now_ms,
                         struct report_published *out, struct diag *d);

#endif
