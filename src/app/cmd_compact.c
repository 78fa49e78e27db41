/* screener compact - merge the closed months of the bar store into one part each. */
#include "app/app.h"
#include "base/clock.h"
#include "base/date.h"
#include "base/log.h"
#include "store/compact.h"

#include <stdio.h>
#include <string.h>

#include "base/banned.h"

static const char help[] =
    "usage: screener compact [options]\n\n"
    "Merge each closed month of the bar store into one part (docs/definitions.md#compaction),\n"
    "so that reading the history fetches one object per month instead of one or more per\n"
    "day: much faster from S3.  A month is closed when all its days are before the settle\n"
    "window (the last 10 trading days) and none of its bars is provisional.  The compacted\n"
    "part is written before the parts it merged are deleted, and the store reads the same\n"
    "at every moment; a stopped compaction is completed by the next.  A month whose parts\n"
    "disagree on a bar or that holds a damaged part is left as it is and reported ('screener\n"
    "verify' says more).  Parts added to a compacted month later (a late bar, a backfill)\n"
    "are read as they are, and merged by the next compaction.\n\n"
    "Prints a line per month on stderr, then a summary.\n\n"
    "Options:\n"
    "  -n, --dry-run            read and report, write and delete nothing\n"
    "      --months N           compact at most N months (oldest first), the rest the next\n"
    "                           time (default: all)\n"
    "      --before DATE        only months that end before DATE (YYYY-MM-DD); never later\n"
    "                           than the settle window allows\n"
    "  -q, --quiet              no line per month\n" APP_COMMON_HELP
    "\nExit codes: 0 done, 1 the store could not be read or written, 2 bad command line,\n"
    "3 a month left as it is for a damaged part, 4 a month left as it is because its parts\n"
    "disagree, 7 S3 credentials missing or refused.\n";

struct progress {
    int quiet;
    size_t damaged, disagree;
};

static void on_month(void *ctx, const struct compact_month *m)
{
    struct progress *p = ctx;
    char day[DATE_STRLEN + 1];
    date_format(m->month, day);
    p->damaged += m->outcome == COMPACT_DAMAGED;
    p->disagree += m->outcome == COMPACT_DISAGREEMENT;
    if (p->quiet)
        return;
    if (m->outcome == COMPACT_DONE || m->outcome == COMPACT_DRY_RUN)
        fprintf(stderr, "compact: %.7s: %zu parts, %zu days, %zu bars %s %s (%zu bytes)%s\n", day,
                m->parts, m->days, m->bars, m->outcome == COMPACT_DONE ? "->" : "would be", m->key,
                m->bytes, m->outcome == COMPACT_DONE ? "" : " (dry run)");
    else
        fprintf(stderr, "compact: %.7s: left as it is (%s): %s\n", day,
                compact_outcome_name(m->outcome), m->why);
}

enum { OPT_DRY_RUN = OPT_FIRST_FREE_, OPT_MONTHS, OPT_BEFORE, OPT_QUIET };

int cmd_compact(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"dry-run", no_argument, NULL, OPT_DRY_RUN},
        {"months", required_argument, NULL, OPT_MONTHS},
        {"before", required_argument, NULL, OPT_BEFORE},
        {"quiet", no_argument, NULL, OPT_QUIET},
        APP_COMMON_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    struct app a;
    app_init(&a, "screener compact");
    struct progress p = {0};
    struct compact_opts o = {.on_month = on_month, .ctx = &p};
    o.closed_before = compact_closed_before(clock_wall_ms());
    int32_t before = INT32_MAX;
    long months;
    int opt, rc;
    while ((opt = getopt_long(argc, argv, "hnq", longopts, NULL)) != -1) {
        switch (opt) {
        case 'h':
            fputs(help, stdout);
            return 0;
        case 'n':
        case OPT_DRY_RUN:
            o.dry_run = 1;
            break;
        case 'q':
        case OPT_QUIET:
            p.quiet = 1;
            break;
        case OPT_MONTHS:
            if ((rc = app_parse_long(&a, "--months", optarg, 1, 100000, &months)))
                return rc;
            o.max_months = (size_t)months;
            break;
        case OPT_BEFORE:
            if ((rc = app_parse_date(&a, "--before", optarg, &before)))
                return rc;
            break;
        case '?':
            return app_usage_error(&a, "unknown or incomplete option");
        default:
            if ((rc = app_common_option(&a, opt, optarg)) != 0)
                return rc < 0 ? EXIT_USAGE : rc;
        }
    }
    if (optind < argc)
        return app_usage_error(&a, "unexpected argument '%s'", argv[optind]);
    if (before < o.closed_before)
        o.closed_before = before;

    struct diag d = {{0}};
    struct compact_stats st;
    int err = app_open_store(&a, &d);
    if (!err && objstore_missing(a.os)) /* a mistyped --store is no store with nothing to do */
        err = diag_set(&d, ERR_NOTFOUND, "store '%s' does not exist (no such directory)",
                       a.os->location);
    if (!err)
        err = barstore_compact(a.os, a.bs, &o, &st, &d);
    if (err) {
        rc = app_fail(&a, err, &d);
        app_release(&a);
        return rc == EXIT_DATA || rc == EXIT_CONFLICT || rc == EXIT_NODATA ? EXIT_FAIL : rc;
    }
    printf("%s %zu month%s of %s: %zu parts merged, %zu retired, %zu bytes written; %zu left "
           "as %s, %zu for the next run\n",
           o.dry_run ? "would compact" : "compacted", st.months_compacted,
           st.months_compacted == 1 ? "" : "s", a.os->location, st.parts_merged, st.parts_retired,
           st.bytes_written, st.months_skipped, st.months_skipped == 1 ? "it is" : "they are",
           st.months_left);
    log_info("compaction finished", LF_INT("months_compacted", st.months_compacted),
             LF_INT("months_skipped", st.months_skipped), LF_INT("months_left", st.months_left),
             LF_INT("parts_merged", st.parts_merged), LF_INT("parts_retired", st.parts_retired),
             LF_INT("bytes_written", st.bytes_written));
    app_release(&a);
    if (fflush(stdout) != 0)
        return EXIT_FAIL;
    return p.damaged ? EXIT_DATA : p.disagree ? EXIT_CONFLICT : 0;
}
