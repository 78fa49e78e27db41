/* screener verify - check a whole store: every part against its name, every day's parts
 * against each other. */
#include "app/app.h"
#include "base/date.h"
#include "base/log.h"
#include "store/symlog.h"

#include <stdio.h>
#include <string.h>

#include "base/banned.h"

static const char help[] =
    "usage: screener verify [options]\n\n"
    "Check every part of the bar store (local or S3): that its content still hashes to its\n"
    "name (a part is named by the SHA-256 of what was written, so a truncated or edited part\n"
    "shows), that its rows are valid, and that the parts of a day agree on every bar.  Reads\n"
    "the whole store, the split log and the symbol-change log (symbols/); prints one line\n"
    "per problem, then a summary.\n\n"
    "  damaged: ... KEY ... WHY     a part that readers refuse ('screen --skip-damaged' leaves\n"
    "                               it out); delete it and collect or import the day again\n"
    "  disagree: SYMBOL DATE FIELD  two parts with different values for one bar (two writers\n"
    "                               at once); readers use the part first in name order (USED)\n"
    "  final revised: SYMBOL DATE FIELD\n"
    "                               a revision part changes a bar that was already final\n"
    "                               (fetched after its settle time) without having been fetched\n"
    "                               in its settle window: against the store's rules; readers\n"
    "                               keep the final bar and do not use the revision\n\n"
    "A compacted month (bars/YYYY/YYYY-MM/days-MASK/part-HASH.csv, 'screener compact') is\n"
    "checked like any part; a damaged one is named, and 'screener compact' leaves its month\n"
    "alone.  A compacted month that also has other parts is noted: they read right (the\n"
    "compacted part wins a tie, a revision supersedes it), and the next compaction merges\n"
    "them.\n\n"
    "'screener fsck' is the same command.\n\n"
    "Options:\n"
    "  -q, --quiet              only the summary\n" APP_COMMON_HELP
    "\nExit codes: 0 every part intact and no disagreement, 1 the store could not be read\n"
    "(I/O, permissions), 2 bad command line, 3 damaged parts found, 4 no damaged part but\n"
    "parts that disagree or revisions of final bars, 5 the store holds no part at all (a\n"
    "mistyped --store?), 7 S3 credentials missing or refused.\n";

struct report {
    int quiet;
};

static void on_damaged(void *ctx, const char *key, const char *why)
{
    const struct report *r = ctx;
    if (r->quiet)
        return;
    if (strstr(why, key))
        printf("damaged: %s\n", why);
    else
        printf("damaged: %s: %s\n", key, why);
}

static void on_disagree(void *ctx, const struct barstore_disagreement *x)
{
    const struct report *r = ctx;
    if (r->quiet)
        return;
    char day[DATE_STRLEN + 1];
    date_format(x->date, day);
    if (x->final_revised)
        printf("final revised: %s %s %s: %s changes the final bar of %s outside its settle "
               "window: not used\n",
               x->symbol, day, x->field, x->loser_key, x->winner_key);
    else
        printf("disagree: %s %s %s: used %s, not %s\n", x->symbol, day, x->field, x->winner_key,
               x->loser_key);
}

enum { OPT_QUIET = OPT_FIRST_FREE_ };

int cmd_verify(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"quiet", no_argument, NULL, OPT_QUIET},
        APP_COMMON_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    struct app a;
    app_init(&a, "screener verify");
    struct report r = {0};
    int opt, rc;
    while ((opt = getopt_long(argc, argv, "hq", longopts, NULL)) != -1) {
        switch (opt) {
        case 'h':
            fputs(help, stdout);
            return 0;
        case 'q':
        case OPT_QUIET:
            r.quiet = 1;
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

    struct diag d = {{0}};
    int err = app_open_store(&a, &d);
    struct barstore_verify_stats st;
    if (!err) {
        struct barstore_verify_opts vo = {
            .on_damaged = on_damaged, .on_disagree = on_disagree, .ctx = &r};
        err = barstore_verify(a.bs, &vo, &st, &d);
    }
    if (!err) {
        /* The symbol-change log: every part against its name, and no contradiction. */
        struct diag sd = {{0}};
        size_t nchanges, ndisagree;
        int serr = symlog_verify(a.bs, &nchanges, &ndisagree, &sd);
        if (serr == ERR_DAMAGED || serr == ERR_PARSE || serr == ERR_INVALID) {
            on_damaged(&r, SYMLOG_PREFIX, sd.text);
            st.damaged++;
        } else if (serr) {
            err = serr;
            d = sd;
        } else if (ndisagree) {
            if (!r.quiet)
                printf("disagree: %zu symbol change%s contradicted by a part first in name "
                       "order (%s): not used\n",
                       ndisagree, ndisagree == 1 ? "" : "s", SYMLOG_PREFIX);
            st.disagreements += ndisagree;
        }
    }
    if (err) {
        rc = app_fail(&a, err, &d);
        app_release(&a);
        return rc == EXIT_DATA || rc == EXIT_CONFLICT || rc == EXIT_NODATA ? EXIT_FAIL : rc;
    }
    printf("verified %s: %zu bar part%s on %zu day%s (%zu bars), %zu split part%s: %zu damaged, "
           "%zu disagreement%s, %zu revision%s of final bars\n",
           a.os->location, st.parts, st.parts == 1 ? "" : "s", st.days, st.days == 1 ? "" : "s",
           st.bars, st.split_parts, st.split_parts == 1 ? "" : "s", st.damaged, st.disagreements,
           st.disagreements == 1 ? "" : "s", st.final_revised, st.final_revised == 1 ? "" : "s");
    if (st.compacted)
        printf("%zu of the parts are compacted months\n", st.compacted);
    if (st.months_mixed)
        printf("note: %zu compacted month%s also %s other parts (late bars, or a compaction "
               "stopped or run twice at once); they read right, and 'screener compact' merges "
               "them\n",
               st.months_mixed, st.months_mixed == 1 ? "" : "s",
               st.months_mixed == 1 ? "has" : "have");
    if (st.other)
        printf("note: %zu object%s under bars/ %s not a part and %s ignored by readers\n", st.other,
               st.other == 1 ? "" : "s", st.other == 1 ? "is" : "are",
               st.other == 1 ? "is" : "are");
    if (st.parts == 0 && st.split_parts == 0) {
        /* Nothing was checked, so nothing is known to be intact: a mistyped --store (or S3
         * prefix) is an empty store, and must not pass for a whole one. */
        fprintf(stderr, "%s: error: store '%s' %s: nothing to verify\n", a.prog, a.os->location,
                objstore_missing(a.os) ? "does not exist (no such directory)"
                                       : "holds no bar or split part");
        app_release(&a);
        return EXIT_NODATA;
    }
    log_info("verify finished", LF_INT("parts", st.parts), LF_INT("days", st.days),
             LF_INT("bars", st.bars), LF_INT("split_parts", st.split_parts),
             LF_INT("damaged", st.damaged), LF_INT("disagreements", st.disagreements),
             LF_INT("final_revised", st.final_revised));
    app_release(&a);
    if (fflush(stdout) != 0)
        return EXIT_FAIL;
    return st.damaged ? EXIT_DATA : st.disagreements || st.final_revised ? EXIT_CONFLICT : 0;
}
